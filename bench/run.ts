/**
 * One benchmark run at one scale: fleet, independent watches, floor probe, the controller as a child process,
 * then convergence, failover sampling, optional churn, and a last correctness check. Shared by `deno task bench`
 * and the e2e smoke test.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../core/kube/client.ts";
import { MetricsRegistry } from "../core/metrics/registry.ts";
import { KubeletSimulator } from "../tests/harness/kubelet.ts";
import { backgroundChurn, createBackground, planBackground } from "./background.ts";
import { runChurn } from "./churn.ts";
import {
  apiWritesByOperation,
  type ControllerProcess,
  spawnController,
  sumOf,
} from "./controller_process.ts";
import { waitForConvergence } from "./convergence.ts";
import { type FailoverPhase, sampleFailovers } from "./failover.ts";
import { createFleet, deleteFleet, planFleet, type Progress } from "./fleet.ts";
import { FleetWatch } from "./fleet_watch.ts";
import { podStatusFloor, sliceFloor } from "./floor.ts";
import { type HeapClass, heapGrowth, type PostGcMemory } from "./inspector.ts";
import type { ScaleDetails } from "./report.ts";
import { distribution } from "./stats.ts";
import { sleep } from "../core/time/sleep.ts";
import { codeVersion, loadAverage, scrapeMetrics } from "./readings.ts";

export interface BenchTarget {
  /** Shown in the details, e.g. "local control plane (tests/harness)" or the kubeconfig path. */
  name: string;
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  /** A throwaway cluster: its fleet need not be deleted afterwards. */
  disposable: boolean;
}

export interface ScaleOptions {
  services: number;
  podsPerService: number;
  servicesPerNamespace: number;
  samples: number;
  churnMinutes: number;
  churnRate: number;
  controllerArgs: readonly string[];
  /** Added to the controller's DENO_V8_FLAGS, e.g. "--max-old-space-size=256". */
  controllerV8Flags?: string;
  createConcurrency: number;
  failoverTimeoutMs: number;
  paceMs: number;
  convergenceTimeoutS: number;
  /** Heap snapshots (summarized by class) at steady state and after the failovers: costly at large heaps. */
  heapSnapshots?: boolean;
  /** Where the controller's log goes. */
  logDir: string;
  /** Pods and Services nothing opts in, and the churn among them (absent: none). */
  background?: {
    pods: number;
    services: number;
    namespaces: number;
    churnPerSecond: number;
    churnSeconds: number;
  };
}

const MB = 2 ** 20;
const EVENT_OPERATIONS = /^(create|patch)_events$/;

export async function runScale(
  target: BenchTarget,
  o: ScaleOptions,
  progress: Progress,
): Promise<ScaleDetails> {
  const runId = `${o.services}-${crypto.randomUUID().slice(0, 4)}`;
  const fleet = planFleet(runId, o.services, o.servicesPerNamespace, o.podsPerService);
  const kc = target.kubeConfig();
  const client = await KubeClient.fromKubeConfig(kc, {
    metrics: new MetricsRegistry(),
    qps: 0,
    timeoutMs: 60_000,
  });
  const kubelet = new KubeletSimulator(kc);
  await kubelet.start();
  const abort = new AbortController();
  const startedAt = new Date().toISOString();
  const code = await codeVersion();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const t0 = performance.now();
    progress(
      `fleet: ${o.services} Services x ${o.podsPerService} pods in ${fleet.namespaces.length} namespaces`,
    );
    await createFleet(client, kubelet, fleet, o.createConcurrency, progress);
    const fleetCreateS = (performance.now() - t0) / 1000;
    if (!target.disposable) cleanups.push(() => deleteFleet(client, fleet));
    const bg = o.background;
    const bgPlan = bg && (bg.pods > 0 || bg.services > 0)
      ? planBackground(runId, bg.pods, bg.services, bg.namespaces)
      : undefined;
    if (bgPlan) {
      progress(
        `background: ${bg!.pods} pods, ${bg!.services} Services in ${bgPlan.namespaces.length} namespaces`,
      );
      await createBackground(client, kubelet, runId, bgPlan, o.createConcurrency, progress);
      if (!target.disposable) {
        cleanups.push(() => deleteFleet(client, { ...fleet, namespaces: bgPlan.namespaces }));
      }
    }

    const watch = new FleetWatch(client, fleet);
    await watch.start(abort.signal);
    const floor = podStatusFloor(client, fleet.floorNamespace, "floor");
    await floor.start();
    cleanups.push(() => floor.stop());
    const slices = await sliceFloor(client, fleet.floorNamespace, "floor");
    await slices.start();
    cleanups.push(() => slices.stop());

    const logPath = `${o.logDir}/controller-${runId}.log`;
    const controller = await spawnController(
      target.kubeconfigPath,
      o.controllerArgs,
      logPath,
      o.controllerV8Flags,
    );
    cleanups.push(() => controller.stop());
    progress(`controller pid ${controller.pid} started (log ${logPath})`);
    const readyAt = await controller.waitReady(120_000);
    const conv = await waitForConvergence(
      watch,
      o.services,
      controller.spawnedAt,
      o.convergenceTimeoutS,
      progress,
    );
    const cpuConvergence = (await controller.stats()).cpuSeconds;
    const convergenceWrites = apiWritesByOperation(await controller.metrics());
    progress(
      Number.isFinite(conv.seconds)
        ? `converged: ${o.services} leaders right ${conv.seconds.toFixed(2)} s after the controller started`
        : `NOT converged after ${o.convergenceTimeoutS} s: ${conv.wrong.length} wrong, e.g. ` +
          conv.wrong.slice(0, 3).map((w) => `${w.key}: ${w.why}`).join("; "),
    );

    // Steady state: the convergence burst (and its background Events) over, memory settled; the median of five
    // samples 2 s apart (the process metrics refresh every 2 s) so one GC cycle does not decide the figure.
    await sleep(5000);
    const memory = async () => {
      const [s, m] = await Promise.all([controller.stats(), controller.metrics()]);
      return {
        rssMb: s.rssBytes / MB,
        heapMb: sumOf(m, "zen_lead_heap_used_bytes") / MB,
        heapTotalMb: sumOf(m, "zen_lead_heap_total_bytes") / MB,
        mainRssMb: s.main.rssBytes / MB,
        processes: s.processes,
      };
    };
    const readings = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await sleep(2000);
      readings.push(await memory());
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const steady = {
      rssMb: median(readings.map((r) => r.rssMb)),
      heapMb: median(readings.map((r) => r.heapMb)),
      heapTotalMb: median(readings.map((r) => r.heapTotalMb)),
      mainRssMb: median(readings.map((r) => r.mainRssMb)),
      processes: readings[readings.length - 1].processes,
    };
    progress(`steady state: RSS ${steady.rssMb.toFixed(0)} MB, heap ${steady.heapMb.toFixed(0)} MB`);
    // After the readings above (a forced collection would lower them): the live set at the same moment.
    const steadyPostGc = await postGc(controller, "steady state", progress);
    const snapshots: { steady?: HeapClass[]; afterFailovers?: HeapClass[] } = {};
    if (o.heapSnapshots) snapshots.steady = await (await controller.inspector()).heapSummary();
    const scrape = await scrapeMetrics(controller.metricsPort);
    const samplesNow = await controller.metrics();
    const cached = (resource: string) =>
      sumOf(samplesNow, "zen_lead_informer_objects", (l) => l.resource === resource);
    const cachedObjects = { pods: cached("pods"), services: cached("services") };
    progress(`/metrics: ${(scrape.bytes / 1024).toFixed(1)} KiB in ${scrape.ms.toFixed(1)} ms`);

    // Background churn: the controller's CPU over an idle window, then over as long a window of pod updates.
    let background: ScaleDetails["background"];
    if (bgPlan) {
      const window = bg!.churnSeconds;
      const c0 = (await controller.stats()).cpuSeconds;
      const t0 = performance.now();
      if (bg!.churnPerSecond > 0) await sleep(window * 1000);
      const idleS = (performance.now() - t0) / 1000;
      const c1 = (await controller.stats()).cpuSeconds;
      const churned = await backgroundChurn(
        kc,
        bgPlan,
        bg!.churnPerSecond,
        bg!.churnPerSecond > 0 ? window : 0,
      );
      const c2 = (await controller.stats()).cpuSeconds;
      const idlePct = idleS > 0 ? ((c1 - c0) / idleS) * 100 : NaN;
      const churnPct = churned.seconds > 0 ? ((c2 - c1) / churned.seconds) * 100 : NaN;
      const after = await memory();
      background = {
        pods: bg!.pods,
        services: bg!.services,
        namespaces: bgPlan.namespaces.length,
        churnPerSecond: bg!.churnPerSecond,
        churnUpdates: churned.updates,
        churnFailed: churned.failed,
        churnSeconds: churned.seconds,
        idleCpuPercent: idlePct,
        churnCpuPercent: churnPct,
        churnCostPercent: churnPct - idlePct,
        rssAfterChurnMb: after.rssMb,
        heapAfterChurnMb: after.heapMb,
      };
      if (bg!.churnPerSecond > 0) {
        progress(
          `background churn: ${churned.updates} pod updates in ${churned.seconds.toFixed(1)} s ` +
            `(${
              (churned.updates / churned.seconds).toFixed(1)
            }/s, ${churned.failed} failed): controller CPU ` +
            `${churnPct.toFixed(2)} % of a core vs ${idlePct.toFixed(2)} % idle`,
        );
      }
    }

    const ctx = {
      fleet,
      watch,
      kubelet,
      floor,
      sliceFloor: slices,
      controller,
      timeoutMs: o.failoverTimeoutMs,
      paceMs: o.paceMs,
      progress,
    };
    const phases: FailoverPhase[] = [];
    for (const kind of ["readiness", "deletion"] as const) {
      phases.push(await sampleFailovers(ctx, kind, o.samples));
    }
    const afterFailovers = await memory();
    const cpuTotal = (await controller.stats()).cpuSeconds;
    const afterFailoversPostGc = await postGc(controller, "after the failovers", progress);
    if (o.heapSnapshots) snapshots.afterFailovers = await (await controller.inspector()).heapSummary();

    const churn = o.churnMinutes > 0
      ? await runChurn({ fleet, watch, kubelet, controller }, o.churnMinutes, o.churnRate, progress)
      : undefined;

    // Last check: after everything settles, every leader must be right.
    const final = await waitForConvergence(watch, o.services, performance.now(), 60, progress);

    const completed = phases.reduce((a, p) => a + p.samples.length, 0);
    const byOperation: Record<string, number> = {};
    for (const p of phases) {
      for (const [op, n] of Object.entries(p.writesByOperation)) byOperation[op] = (byOperation[op] ?? 0) + n;
    }
    const allWrites = Object.values(byOperation).reduce((a, b) => a + b, 0);
    const eventWrites = Object.entries(byOperation).filter(([op]) => EVENT_OPERATIONS.test(op))
      .reduce((a, [, n]) => a + n, 0);
    const per = (n: number) => completed > 0 ? n / completed : NaN;
    const floorSamples = phases.flatMap((p) => p.floor);
    const sliceSamples = phases.flatMap((p) => p.sliceFloor);
    // The chain a failover cannot beat: the pod status event after its acknowledged write, plus one
    // EndpointSlice write seen on a watch (each failover is followed by one sample of each).
    const chainFloorSamples = floorSamples.slice(0, sliceSamples.length)
      .map((f, i) => f.afterAckMs + sliceSamples[i].roundTripMs);
    const [readiness, deletion] = phases;
    return {
      services: o.services,
      pods: o.services * o.podsPerService,
      namespaces: fleet.namespaces.length,
      target: target.name,
      // V8 flags are part of what was measured: named beside the controller's flags.
      controllerArgs: [
        ...o.controllerArgs,
        ...(o.controllerV8Flags ? [`DENO_V8_FLAGS+=${o.controllerV8Flags}`] : []),
      ],
      machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno, os: Deno.build.os },
      code,
      startedAt,
      fleetCreateS,
      controllerReadyS: (readyAt - controller.spawnedAt) / 1000,
      convergenceS: conv.seconds,
      convergenceWrong: conv.wrong.slice(0, 20),
      convergenceWrites,
      failover: {
        readiness: distribution(readiness.samples.map((s) => s.latencyMs)),
        deletion: distribution(deletion.samples.map((s) => s.latencyMs)),
        all: distribution(phases.flatMap((p) => p.samples.map((s) => s.latencyMs))),
      },
      failures: phases.flatMap((p) => p.failures),
      floor: {
        roundTrip: distribution(floorSamples.map((f) => f.roundTripMs)),
        afterAck: distribution(floorSamples.map((f) => f.afterAckMs)),
      },
      sliceFloor: {
        roundTrip: distribution(sliceSamples.map((f) => f.roundTripMs)),
        afterAck: distribution(sliceSamples.map((f) => f.afterAckMs)),
      },
      chainFloor: distribution(chainFloorSamples),
      scrape,
      cachedObjects,
      background,
      machineLoad: await loadAverage(),
      paceMs: o.paceMs,
      controllerLatencyMeanMs: {
        readiness: readiness.controllerLatencyMeanMs,
        deletion: deletion.controllerLatencyMeanMs,
      },
      writes: {
        byOperation,
        allPerFailover: per(allWrites),
        managedPerFailover: per(phases.reduce((a, p) => a + p.managedWrites, 0)),
        eventsPerFailover: per(eventWrites),
        controllerFailovers: phases.reduce((a, p) => a + p.controllerFailovers, 0),
      },
      memory: {
        steady,
        afterFailovers,
        steadyPostGc,
        afterFailoversPostGc,
        ...(snapshots.steady && snapshots.afterFailovers
          ? {
            heapClassesSteady: snapshots.steady.slice(0, 40),
            heapGrowthOverFailovers: heapGrowth(snapshots.steady, snapshots.afterFailovers),
          }
          : {}),
      },
      cpu: { convergenceS: cpuConvergence, totalS: cpuTotal },
      finalWrong: final.wrong.slice(0, 20),
      churn,
      samples: phases.flatMap((p) => p.samples),
      floorSamples: floorSamples.map((f) => f.roundTripMs),
      sliceFloorSamples: sliceSamples.map((f) => f.roundTripMs),
    };
  } finally {
    abort.abort();
    for (const c of cleanups.reverse()) await c().catch((e) => console.error(`bench cleanup: ${e}`));
    await kubelet.stop();
    client.close();
  }
}

/** A post-GC reading, printed; undefined (and said) when the inspector does not answer. */
async function postGc(
  controller: ControllerProcess,
  when: string,
  progress: Progress,
): Promise<PostGcMemory | undefined> {
  try {
    const m = await controller.postGcMemory();
    progress(
      `${when}, after a forced full GC: heap used ${m.heapUsedMb.toFixed(1)} MB of ${
        m.heapTotalMb.toFixed(1)
      } MB, external ${m.externalMb.toFixed(1)} MB (ArrayBuffers ${m.arrayBuffersMb.toFixed(1)}), RSS ${
        m.rssMb.toFixed(0)
      } MB`,
    );
    return m;
  } catch (e) {
    progress(`${when}: no post-GC reading (${e})`);
    return undefined;
  }
}
