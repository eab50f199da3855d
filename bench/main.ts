/**
 * `deno task bench`: failover latency against the API server's own floor, convergence, memory, CPU and writes
 * per failover at each scale, on a local control plane (one fresh cluster per scale) or on `--kubeconfig`.
 * Writes bench/results/<scale>.json, <scale>.details.json and <scale>.svg, and prints the table.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { startCluster } from "../tests/harness/cluster.ts";
import { latencyCdfSvg, timeSeriesSvg } from "./chart.ts";
import {
  BenchOptionError,
  type BenchOptions,
  churnScaleOf,
  OPTIONS_HELP,
  parseBenchOptions,
} from "./options.ts";
import { formatTable, type ScaleDetails, scaleResult } from "./report.ts";
import { type BenchTarget, runScale } from "./run.ts";

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function writeResults(outDir: string, d: ScaleDetails): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  const base = `${outDir}/${d.services}`;
  await Deno.writeTextFile(`${base}.json`, JSON.stringify(scaleResult(d), null, 2) + "\n");
  await Deno.writeTextFile(`${base}.details.json`, JSON.stringify(d, null, 2) + "\n");
  const floor = d.floor.roundTrip;
  await Deno.writeTextFile(
    `${base}.svg`,
    latencyCdfSvg(
      `zen-lead failover latency, ${d.services} Services / ${d.pods} pods (floor p50 ${
        floor.p50.toFixed(1)
      } ms)`,
      [
        { label: "failover: readiness flipped", color: "#1f77b4", values: samplesOf(d, "readiness") },
        { label: "failover: pod deleted", color: "#d62728", values: samplesOf(d, "deletion") },
        { label: "floor: status patch to watch event", color: "#7f7f7f", values: d.floorSamples },
        { label: "EndpointSlice replace to watch event", color: "#2ca02c", values: d.sliceFloorSamples },
      ],
    ) + "\n",
  );
  if (d.churn) {
    await Deno.writeTextFile(
      `${base}-churn-memory.svg`,
      timeSeriesSvg(
        `zen-lead memory during ${d.churn.minutes} min of churn at ${d.services} Services`,
        "MB",
        [
          {
            label: "RSS",
            color: "#1f77b4",
            points: d.churn.memory.map((m) => ({ t: m.t / 60, v: m.rssMb })),
          },
          {
            label: "V8 heap used",
            color: "#2ca02c",
            points: d.churn.memory.map((m) => ({ t: m.t / 60, v: m.heapMb })),
          },
          {
            label: "V8 heap after a forced full GC",
            color: "#d62728",
            points: d.churn.memory.filter((m) => m.postGcHeapMb !== undefined)
              .map((m) => ({ t: m.t / 60, v: m.postGcHeapMb! })),
          },
        ],
      ) + "\n",
    );
  }
}

function samplesOf(d: ScaleDetails, kind: "readiness" | "deletion"): number[] {
  return d.samples.filter((s) => s.kind === kind).map((s) => s.latencyMs);
}

async function localTarget(): Promise<{ target: BenchTarget; stop(): Promise<void> }> {
  const cluster = await startCluster();
  return {
    target: {
      name: `local control plane (tests/harness, Kubernetes ${cluster.binaries.kubernetesVersion})`,
      kubeconfigPath: cluster.kubeconfigPath,
      kubeConfig: () => cluster.kubeConfig(),
      disposable: true,
    },
    stop: () => cluster.stop(),
  };
}

function kubeconfigTarget(path: string): BenchTarget {
  return {
    name: `kubeconfig ${path}`,
    kubeconfigPath: path,
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      return kc;
    },
    disposable: false,
  };
}

export async function runBench(o: BenchOptions): Promise<ScaleDetails[]> {
  const logDir = await Deno.makeTempDir({ prefix: "zen-lead-bench-" });
  const churnAt = churnScaleOf(o);
  const runs: ScaleDetails[] = [];
  for (const services of o.scales) {
    log(`=== ${services} Services (${services * o.podsPerService} pods) ===`);
    const local = o.kubeconfig ? undefined : await localTarget();
    try {
      const target = local?.target ?? kubeconfigTarget(o.kubeconfig!);
      const d = await runScale(target, {
        services,
        podsPerService: o.podsPerService,
        servicesPerNamespace: o.servicesPerNamespace,
        samples: o.samples,
        churnMinutes: services === churnAt ? o.churnMinutes : 0,
        churnRate: o.churnRate,
        controllerArgs: o.controllerArgs,
        controllerV8Flags: o.controllerV8Flags,
        createConcurrency: o.createConcurrency,
        failoverTimeoutMs: o.failoverTimeoutMs,
        paceMs: o.paceMs,
        convergenceTimeoutS: o.convergenceTimeoutS,
        heapSnapshots: o.heapSnapshots,
        background: {
          pods: o.backgroundPods,
          services: o.backgroundServices,
          namespaces: o.backgroundNamespaces,
          churnPerSecond: o.backgroundChurn,
          churnSeconds: o.backgroundChurnSeconds,
        },
        logDir,
      }, log);
      runs.push(d);
      await writeResults(o.outDir, d);
      log(`wrote ${o.outDir}/${services}.json, .details.json and .svg`);
      console.log("\n" + formatTable([d]) + "\n");
    } finally {
      await local?.stop();
    }
  }
  log(`controller logs in ${logDir}`);
  return runs;
}

if (import.meta.main) {
  let o: BenchOptions;
  try {
    o = parseBenchOptions(Deno.args);
  } catch (e) {
    if (!(e instanceof BenchOptionError)) throw e;
    console.error(`bench: ${e.message}`);
    Deno.exit(2);
  }
  if (o.help) {
    console.log(OPTIONS_HELP);
    Deno.exit(0);
  }
  const runs = await runBench(o);
  console.log("\n" + formatTable(runs));
  const bad = runs.filter((d) =>
    d.failures.length > 0 || d.finalWrong.length > 0 || !Number.isFinite(d.convergenceS)
  );
  if (bad.length) {
    console.error(
      `bench: incorrect results at ${bad.map((d) => d.services).join(", ")} Services (see details.json)`,
    );
    Deno.exit(1);
  }
  Deno.exit(0);
}
