/** The published figures: `<scale>.json` (the fields, exactly), the details beside it, the stdout table. */
import type { ChurnResult } from "./churn.ts";
import type { FailoverSample } from "./failover.ts";
import type { HeapClass, PostGcMemory } from "./inspector.ts";
import { type Distribution, round } from "./stats.ts";

/** bench/results/<scale>.json */
export interface ScaleResult {
  services: number;
  pods: number;
  convergence_s: number;
  failover_ms: { p50: number; p90: number; p99: number; max: number };
  floor_ms: { p50: number; p99: number };
  /** Pod status event after its acknowledged write + one EndpointSlice write to its watch event. */
  chain_floor_ms: { p50: number; p99: number };
  /** Failover latency over the chain floor. */
  ratio_p50: number;
  ratio_p99: number;
  ready_s: number;
  metrics_scrape: { kib: number; ms: number };
  background?: {
    pods: number;
    services: number;
    namespaces: number;
    churn_per_s: number;
    churn_cpu_percent: number;
    idle_cpu_percent: number;
  };
  rss_mb: number;
  heap_mb: number;
  /** V8 heap after a forced full collection at steady state and after the sampled failovers (the live set). */
  heap_post_gc_mb?: { steady: number; after_failovers: number };
  cpu_s: number;
  writes_per_failover: number;
}

/** bench/results/<scale>.details.json: how the figures were made and what lies behind them. */
export interface ScaleDetails {
  services: number;
  pods: number;
  namespaces: number;
  target: string;
  controllerArgs: string[];
  machine: { cpus: number; deno: string; os: string };
  /** `git describe` of the measured tree (`-dirty` when it had uncommitted changes), or "unknown". */
  code: string;
  startedAt: string;
  fleetCreateS: number;
  controllerReadyS: number;
  convergenceS: number;
  convergenceWrong: { key: string; why: string }[];
  /** Controller API writes by operation from its start to convergence (the --qps budget they share). */
  convergenceWrites: Record<string, number>;
  failover: { readiness: Distribution; deletion: Distribution; all: Distribution };
  /** Failovers that did not complete or went to a wrong pod; the smoke test requires none. */
  failures: string[];
  /** Pod status patch to watch event: from sending (roundTrip) and from the acknowledgement (afterAck). */
  floor: { roundTrip: Distribution; afterAck: Distribution };
  /** EndpointSlice replace to watch event, the write each failover ends with. */
  sliceFloor: { roundTrip: Distribution; afterAck: Distribution };
  /** Per failover: the pod floor's ack-to-event plus the slice write's send-to-event (what a failover must pay). */
  chainFloor: Distribution;
  scrape: { bytes: number; ms: number };
  /** Objects in the controller's pod and Service caches at steady state. */
  cachedObjects: { pods: number; services: number };
  background?: BackgroundResult;
  /** 1-minute load average when the run ended (the machine is shared). */
  machineLoad: number;
  /** Least time between the starts of two sampled failovers. */
  paceMs: number;
  /** The controller's own failover_latency_seconds mean per kind: observed cause to acknowledged slice write. */
  controllerLatencyMeanMs: { readiness: number; deletion: number };
  writes: {
    byOperation: Record<string, number>;
    allPerFailover: number;
    managedPerFailover: number;
    eventsPerFailover: number;
    controllerFailovers: number;
  };
  /** rssMb: the controller and its helper processes; mainRssMb: the controller process alone. */
  memory: {
    steady: MemoryReading;
    afterFailovers: MemoryReading;
    /** The same moments after a forced full collection (the live set), through the inspector. */
    steadyPostGc?: PostGcMemory;
    afterFailoversPostGc?: PostGcMemory;
    /** With --heap-snapshots: the largest classes at steady state, and what the failovers added per class. */
    heapClassesSteady?: HeapClass[];
    heapGrowthOverFailovers?: HeapClass[];
  };
  cpu: { convergenceS: number; totalS: number };
  /** Services whose leader was wrong at the end of the run (after churn when it ran). */
  finalWrong: { key: string; why: string }[];
  churn?: ChurnResult;
  /** Every failover sample and every floor round trip (ms), for the chart and for re-analysis. */
  samples: FailoverSample[];
  floorSamples: number[];
  sliceFloorSamples: number[];
}

export interface BackgroundResult {
  pods: number;
  services: number;
  namespaces: number;
  churnPerSecond: number;
  churnUpdates: number;
  churnFailed: number;
  churnSeconds: number;
  /** The controller's CPU in % of one core: over an idle window, over the churn window, and their difference. */
  idleCpuPercent: number;
  churnCpuPercent: number;
  churnCostPercent: number;
  rssAfterChurnMb: number;
  heapAfterChurnMb: number;
}

export interface MemoryReading {
  rssMb: number;
  heapMb: number;
  /** V8's committed heap (used plus free space it keeps). */
  heapTotalMb: number;
  mainRssMb: number;
  processes: number;
}

export function scaleResult(d: ScaleDetails): ScaleResult {
  const f = d.failover.all;
  const fl = d.floor.roundTrip;
  const chain = d.chainFloor;
  const bg = d.background;
  return {
    services: d.services,
    pods: d.pods,
    convergence_s: round(d.convergenceS, 2),
    failover_ms: { p50: round(f.p50), p90: round(f.p90), p99: round(f.p99), max: round(f.max) },
    floor_ms: { p50: round(fl.p50), p99: round(fl.p99) },
    chain_floor_ms: { p50: round(chain.p50), p99: round(chain.p99) },
    ratio_p50: round(f.p50 / chain.p50, 2),
    ratio_p99: round(f.p99 / chain.p99, 2),
    ready_s: round(d.controllerReadyS, 2),
    metrics_scrape: { kib: round(d.scrape.bytes / 1024), ms: round(d.scrape.ms) },
    ...(bg
      ? {
        background: {
          pods: bg.pods,
          services: bg.services,
          namespaces: bg.namespaces,
          churn_per_s: bg.churnSeconds > 0 ? round(bg.churnUpdates / bg.churnSeconds) : 0,
          churn_cpu_percent: round(bg.churnCpuPercent, 2),
          idle_cpu_percent: round(bg.idleCpuPercent, 2),
        },
      }
      : {}),
    rss_mb: round(d.memory.steady.rssMb),
    heap_mb: round(d.memory.steady.heapMb),
    ...(d.memory.steadyPostGc && d.memory.afterFailoversPostGc
      ? {
        heap_post_gc_mb: {
          steady: round(d.memory.steadyPostGc.heapUsedMb),
          after_failovers: round(d.memory.afterFailoversPostGc.heapUsedMb),
        },
      }
      : {}),
    cpu_s: round(d.cpu.totalS, 2),
    writes_per_failover: round(d.writes.allPerFailover, 2),
  };
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [
    pad(header, widths),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map((r) => pad(r, widths)),
  ]
    .join("\n");
}

const ms = (n: number) => Number.isFinite(n) ? n.toFixed(1) : "-";

/** The stdout table: one row per scale, then failover latency per kind against the floor. */
export function formatTable(runs: readonly ScaleDetails[]): string {
  const main = table(
    [
      "services",
      "pods",
      "converge s",
      "failover p50",
      "p90",
      "p99",
      "max ms",
      "chain floor p50",
      "p99 ms",
      "ratio p50",
      "p99",
      "RSS MB",
      "heap MB",
      "CPU s",
      "writes/failover",
    ],
    runs.map((d) => {
      const r = scaleResult(d);
      return [
        String(r.services),
        String(r.pods),
        Number.isFinite(r.convergence_s) ? r.convergence_s.toFixed(1) : "not converged",
        ms(r.failover_ms.p50),
        ms(r.failover_ms.p90),
        ms(r.failover_ms.p99),
        ms(r.failover_ms.max),
        ms(r.chain_floor_ms.p50),
        ms(r.chain_floor_ms.p99),
        r.ratio_p50.toFixed(2),
        r.ratio_p99.toFixed(2),
        r.rss_mb.toFixed(0),
        r.heap_mb.toFixed(0),
        r.cpu_s.toFixed(1),
        `${r.writes_per_failover.toFixed(2)} (${d.writes.managedPerFailover.toFixed(2)} objects)`,
      ];
    }),
  );
  const kinds = table(
    ["services", "kind", "n", "p50 ms", "p90", "p99", "max", "failed", "controller mean ms"],
    runs.flatMap((d) => [
      ...(["readiness", "deletion"] as const).map((k) =>
        kindRow(
          d.services,
          `failover (${k})`,
          d.failover[k],
          String(d.failures.filter((f) => !f.startsWith("floor")).length),
          ms(d.controllerLatencyMeanMs[k]),
        )
      ),
      kindRow(
        d.services,
        "floor (send to event)",
        d.floor.roundTrip,
        String(d.failures.filter((f) => f.startsWith("floor")).length),
      ),
      kindRow(d.services, "slice write to event", d.sliceFloor.roundTrip),
      kindRow(d.services, "floor (ack to event)", d.floor.afterAck),
      kindRow(d.services, "chain floor", d.chainFloor),
    ]),
  );
  const churn = runs.filter((d) => d.churn).map((d) => {
    const c = d.churn!;
    return `churn at ${d.services} Services: ${c.minutes} min, ${c.replaced} pods replaced ` +
      `(${c.failoversDuringChurn} failovers); heap (${c.heapTrendOf}) ${c.heapFirstMb.toFixed(1)} -> ` +
      `${c.heapLastMb.toFixed(1)} MB (slope ${c.heapTrendMbPerHour.toFixed(1)} MB/h, R^2 ${
        c.heapTrendR2.toFixed(2)
      }), RSS floor ` +
      `${c.rssFirstMb.toFixed(0)} -> ${c.rssLastMb.toFixed(0)} MB (${
        c.rssTrendMbPerHour.toFixed(1)
      } MB/h): ` +
      `${c.flat ? "flat" : "grows"}; CPU ${c.cpuSeconds.toFixed(0)} s`;
  });
  const footprint = runs.map((d) => {
    const b = d.background;
    const bgText = b
      ? `; background ${b.pods} pods, ${b.services} Services in ${b.namespaces} namespaces: ` +
        `${(b.churnSeconds > 0 ? b.churnUpdates / b.churnSeconds : 0).toFixed(1)} pod updates/s cost ` +
        `${b.churnCpuPercent.toFixed(2)} % of a core (idle ${b.idleCpuPercent.toFixed(2)} %), RSS after ` +
        `${b.rssAfterChurnMb.toFixed(0)} MB`
      : "";
    return `${d.services} Services: ready ${d.controllerReadyS.toFixed(2)} s after start, /metrics ` +
      `${(d.scrape.bytes / 1024).toFixed(1)} KiB in ${d.scrape.ms.toFixed(1)} ms${bgText} ` +
      `(load average ${d.machineLoad})`;
  });
  return [main, "", kinds, "", ...footprint, ...(churn.length ? ["", ...churn] : [])].join("\n");
}

/** One row of the per-kind table: a latency summary with its count, failures and the controller's mean. */
function kindRow(
  services: number,
  kind: string,
  t: { count: number; p50: number; p90: number; p99: number; max: number },
  failed = "",
  controllerMean = "",
): string[] {
  return [
    String(services),
    kind,
    String(t.count),
    ms(t.p50),
    ms(t.p90),
    ms(t.p99),
    ms(t.max),
    failed,
    controllerMean,
  ];
}
