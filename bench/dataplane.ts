/**
 * `deno task bench:dataplane`: failovers through the real data plane of tests/dataplane/ (kube-proxy in
 * nftables mode, pods as real servers in network namespaces). A client opens a fresh connection to the leader
 * ClusterIP every 10 ms; each failover is measured from the fault to the first answer from the new leader.
 * Kinds run in turn (readiness, deletion, killed server, veth down) so slow drifts hit all alike.
 * Writes bench/results/dataplane.json and dataplane.svg and prints the table.
 *
 * Flags: --failovers=N per kind (default 50), --kinds=readiness,deletion,killed,vethDown, --out=bench/results
 */
import { parseArgs } from "node:util";
import { dataplaneUnsupported } from "../tests/dataplane/capability.ts";
import { Cast, HTTP_CHECK } from "../tests/dataplane/cast.ts";
import { type FailoverSample, FAULT_KINDS, type FaultKind } from "../tests/dataplane/failover.ts";
import { startLab } from "../tests/dataplane/lab.ts";
import { latencyCdfSvg } from "./chart.ts";
import { formatDataplaneTable, kindLabel, type KindReport, kindReport } from "./dataplane_report.ts";
import { measureEstablished } from "./dataplane_established.ts";
import { codeVersion } from "./readings.ts";

const COLORS: Record<FaultKind, string> = {
  readiness: "#1f77b4",
  deletion: "#d62728",
  killed: "#2ca02c",
  vethDown: "#9467bd",
};

function log(line: string): void {
  console.log(`[bench:dataplane ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

function options() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      failovers: { type: "string", default: "50" },
      kinds: { type: "string", default: FAULT_KINDS.join(",") },
      out: { type: "string", default: "bench/results" },
      established: { type: "boolean", default: true },
    },
    allowNegative: true,
  });
  const failovers = Number(values.failovers);
  if (!Number.isInteger(failovers) || failovers < 1 || failovers > 10_000) {
    throw new Error(
      `--failovers: expected an integer in 1..10000, found ${JSON.stringify(values.failovers)}`,
    );
  }
  const kinds = values.kinds.split(",").map((k) => k.trim()) as FaultKind[];
  for (const k of kinds) {
    if (!FAULT_KINDS.includes(k)) {
      throw new Error(`--kinds: expected some of ${FAULT_KINDS.join(", ")}, found ${JSON.stringify(k)}`);
    }
  }
  return { failovers, kinds, out: values.out, established: values.established };
}

const opts = options();
const unsupported = dataplaneUnsupported();
if (unsupported) {
  console.error(`bench:dataplane cannot run here: ${unsupported}`);
  Deno.exit(2);
}

const started = performance.now();
const samples: FailoverSample[] = [];
let established: unknown;
{
  await using lab = await startLab({ pods: 3 });
  log(
    `lab up: kube-proxy (nftables) in ${lab.topology.node}, 3 pods, controller in ${lab.topology.controller}`,
  );
  const cast = await Cast.start(lab);
  const clusterIP = await lab.createService({ "zen-lead.io/health-check": HTTP_CHECK });
  const client = lab.startClient("fresh", clusterIP, 80, 10);
  await cast.leader();
  await new Promise((r) => setTimeout(r, 2000)); // kube-proxy's first sync of the new Service
  for (let round = 1; round <= opts.failovers; round++) {
    for (const kind of opts.kinds) {
      const s = await cast.failover(client, kind);
      samples.push(s);
      log(
        `${round}/${opts.failovers} ${kind}: ${s.from} -> ${s.to} ${s.totalMs.toFixed(0)} ms ` +
          `(controller ${s.controllerMs.toFixed(0)}, kube-proxy ${s.kubeProxyMs?.toFixed(0) ?? "?"}), ` +
          `${s.failed} failed, ${s.nonLeaderAfterSync} non-leader after sync`,
      );
    }
  }
  await client.stop();
  if (opts.established) {
    log("established connections: a long-lived TCP connection through a failover");
    established = await measureEstablished(lab, cast, clusterIP, log);
  }
}

const kinds: Partial<Record<FaultKind, KindReport>> = {};
for (const kind of opts.kinds) kinds[kind] = kindReport(kind, samples);
const result = {
  generated: new Date().toISOString(),
  commit: await codeVersion(),
  setup: {
    kubernetes: "v1.34.4 kube-proxy --proxy-mode=nftables --iptables-min-sync-period=0s",
    client: "a fresh TCP connection + GET / to the leader ClusterIP every 10 ms, 1 s timeout",
    health_check: JSON.parse(HTTP_CHECK),
    machine: `${Deno.build.os} ${Deno.osRelease()}, ${navigator.hardwareConcurrency} cores (shared)`,
    failovers_per_kind: opts.failovers,
    duration_s: Math.round((performance.now() - started) / 1000),
  },
  kinds,
  established,
  samples: samples.map((s) => ({
    kind: s.kind,
    total_ms: Math.round(s.totalMs * 10) / 10,
    controller_ms: Math.round(s.controllerMs * 10) / 10,
    kube_proxy_ms: s.kubeProxyMs === undefined ? null : Math.round(s.kubeProxyMs * 10) / 10,
    failed: s.failed,
    non_leader_after_sync: s.nonLeaderAfterSync,
  })),
};
await Deno.mkdir(opts.out, { recursive: true });
await Deno.writeTextFile(`${opts.out}/dataplane.json`, JSON.stringify(result, null, 2) + "\n");
await Deno.writeTextFile(
  `${opts.out}/dataplane.svg`,
  latencyCdfSvg(
    "zen-lead through kube-proxy: fault to the first answer from the new leader",
    opts.kinds.map((k) => ({
      label: kindLabel(k),
      color: COLORS[k],
      values: samples.filter((s) => s.kind === k).map((s) => s.totalMs),
    })),
  ) + "\n",
);
console.log(formatDataplaneTable(kinds));
log(`wrote ${opts.out}/dataplane.json and dataplane.svg`);
const failed = Object.entries(kinds).filter(([, r]) => !r.p99_within_bound || r.non_leader_after_sync > 0);
if (failed.length) {
  console.error(`acceptance not met for: ${failed.map(([k]) => k).join(", ")}`);
  Deno.exit(1);
}
