/**
 * The churn run: pods replaced continuously (a graceful delete of a random pod, leaders included, and a new pod
 * in its place) while the controller's memory is sampled, to show whether it grows.
 */
import type { KubeletSimulator } from "../tests/harness/kubelet.ts";
import type { ControllerProcess } from "./controller_process.ts";
import { sumOf } from "./controller_process.ts";
import { type Fleet, podOptions, type Progress } from "./fleet.ts";
import type { FleetWatch } from "./fleet_watch.ts";
import { collectionLows, rSquared, slope, windowMinima } from "./stats.ts";
import { sleep } from "../core/time/sleep.ts";

export interface MemoryPoint {
  /** Seconds since the churn started. */
  t: number;
  rssMb: number;
  heapMb: number;
  /** Heap used right after a forced full collection (the live set): once a minute, through the inspector. */
  postGcHeapMb?: number;
}

/** What the memory series of a churn run says: the trend of the live heap and of RSS, and whether it is flat. */
export interface MemoryTrend {
  /** Heap right after each major collection (t in s): the live set, whose trend says whether memory grows. */
  heapLows: { t: number; mb: number }[];
  /** Which heap points the trend is over: forced post-GC readings, else lows after collections, else floors. */
  heapTrendOf: "post-gc" | "collection-lows" | "minute-floors";
  /** Least-squares trend of those heap points, MB per hour. */
  heapTrendMbPerHour: number;
  /** R^2 of that trend line. */
  heapTrendR2: number;
  /** Least-squares trend of per-minute RSS floors after the first minute, MB per hour. */
  rssTrendMbPerHour: number;
  heapFirstMb: number;
  heapLastMb: number;
  rssFirstMb: number;
  rssLastMb: number;
  /** Trend over the run under 5% of the first value (or 2 MB), for heap and RSS both. */
  flat: boolean;
}

export interface ChurnResult extends MemoryTrend {
  minutes: number;
  ratePerSecond: number;
  replaced: number;
  /** Ticks skipped because too many replacements were still in flight (the API server fell behind). */
  skipped: number;
  failures: string[];
  memory: MemoryPoint[];
  cpuSeconds: number;
  failoversDuringChurn: number;
}

const MAX_IN_FLIGHT = 16;
const SAMPLE_EVERY_MS = 10_000;
/** Every sixth sample forces a full GC first: often enough for a trend, rare enough not to shape the run. */
const POST_GC_EVERY = 6;

/** A small deterministic PRNG, so two churn runs replace the same sequence of pods. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runChurn(
  ctx: { fleet: Fleet; watch: FleetWatch; kubelet: KubeletSimulator; controller: ControllerProcess },
  minutes: number,
  ratePerSecond: number,
  progress: Progress,
): Promise<ChurnResult> {
  const { fleet, watch, kubelet, controller } = ctx;
  const random = mulberry32(42);
  const started = performance.now();
  const endAt = started + minutes * 60_000;
  const cpuStart = (await controller.stats()).cpuSeconds;
  const failoversStart = sumOf(await controller.metrics(), "zen_lead_failover_count_total");
  const memory: MemoryPoint[] = [];
  const failures: string[] = [];
  const busy = new Set<string>();
  let replaced = 0;
  let skipped = 0;
  let inFlight = 0;

  const sampleMemory = async () => {
    const [stats, metrics] = await Promise.all([controller.stats(), controller.metrics()]);
    const point: MemoryPoint = {
      t: (performance.now() - started) / 1000,
      rssMb: stats.rssBytes / 2 ** 20,
      heapMb: sumOf(metrics, "zen_lead_heap_used_bytes") / 2 ** 20,
    };
    // After the plain reading, so the forced collection does not lower it.
    if (memory.length % POST_GC_EVERY === 0) {
      point.postGcHeapMb = await controller.postGcMemory().then((m) => m.heapUsedMb, () => undefined);
    }
    memory.push(point);
  };
  await sampleMemory();
  let nextSample = performance.now() + SAMPLE_EVERY_MS;
  let nextReport = performance.now() + 60_000;

  const replaceOne = async () => {
    const svc = fleet.services[Math.floor(random() * fleet.services.length)];
    // One replacement per Service at a time keeps a successor available, as a rolling update would.
    if (busy.has(svc.key)) return;
    const pods = watch.podsOf(svc).filter((p) => !p.metadata.deletionTimestamp);
    if (pods.length < fleet.podsPerService) return;
    const victim = pods[Math.floor(random() * pods.length)];
    busy.add(svc.key);
    inFlight++;
    try {
      await kubelet.core.deleteNamespacedPod({
        namespace: svc.namespace,
        name: victim.metadata.name!,
        gracePeriodSeconds: 30,
      });
      await kubelet.createPod(svc.namespace, podOptions(fleet, svc));
      replaced++;
    } catch (e) {
      if (failures.length < 20) failures.push(`${svc.key}: replacing ${victim.metadata.name}: ${e}`);
    } finally {
      busy.delete(svc.key);
      inFlight--;
    }
  };

  const intervalMs = 1000 / ratePerSecond;
  let nextTick = performance.now();
  while (performance.now() < endAt) {
    if (inFlight >= MAX_IN_FLIGHT) skipped++;
    else void replaceOne();
    nextTick += intervalMs;
    const now = performance.now();
    if (now >= nextSample) {
      nextSample += SAMPLE_EVERY_MS;
      await sampleMemory().catch((e) => failures.push(`memory sample: ${e}`));
    }
    if (now >= nextReport) {
      nextReport += 60_000;
      const m = memory[memory.length - 1];
      const gc = memory.findLast((p) => p.postGcHeapMb !== undefined)?.postGcHeapMb;
      progress(
        `churn ${((now - started) / 60_000).toFixed(0)}/${minutes} min: ${replaced} pods replaced, ` +
          `RSS ${m.rssMb.toFixed(0)} MB, heap ${m.heapMb.toFixed(0)} MB` +
          (gc === undefined ? "" : `, heap after a forced GC ${gc.toFixed(1)} MB`),
      );
    }
    await sleep(Math.max(0, nextTick - performance.now()));
  }
  while (inFlight > 0) await sleep(50);
  await sampleMemory();

  return {
    minutes,
    ratePerSecond,
    replaced,
    skipped,
    failures,
    memory,
    ...summarizeMemory(memory, minutes),
    cpuSeconds: (await controller.stats()).cpuSeconds - cpuStart,
    failoversDuringChurn: sumOf(await controller.metrics(), "zen_lead_failover_count_total") - failoversStart,
  };
}

/**
 * The heap's trend over forced post-GC readings when there are three or more, else over the lows after major
 * collections, else over per-minute floors; and the RSS floors' trend.
 */
export function summarizeMemory(memory: readonly MemoryPoint[], minutes: number): MemoryTrend {
  const heapSeries = memory.map((m) => ({ t: m.t * 1000, v: m.heapMb }));
  const lows = collectionLows(heapSeries);
  const postGc = memory.filter((m) => m.postGcHeapMb !== undefined).map((m) => ({
    x: m.t * 1000,
    y: m.postGcHeapMb!,
  }));
  // Per-minute floors when the run is too short for three collections; the first minute is warm-up.
  const heapTrendOf = postGc.length >= 3 ? "post-gc" : lows.length >= 3 ? "collection-lows" : "minute-floors";
  const heapPoints = heapTrendOf === "post-gc"
    ? postGc
    : heapTrendOf === "collection-lows"
    ? lows
    : windowMinima(heapSeries, 60_000).slice(1);
  const rssPoints = windowMinima(memory.map((m) => ({ t: m.t * 1000, v: m.rssMb })), 60_000).slice(1);
  const perHour = (f: { x: number; y: number }[]) => slope(f) * 3_600_000;
  const first = (f: { x: number; y: number }[]) => f[0]?.y ?? NaN;
  const last = (f: { x: number; y: number }[]) => f[f.length - 1]?.y ?? NaN;
  const hours = minutes / 60;
  const flatEnough = (f: { x: number; y: number }[]) => perHour(f) * hours < Math.max(2, 0.05 * first(f));
  return {
    heapLows: lows.map((l) => ({ t: l.x / 1000, mb: l.y })),
    heapTrendOf,
    heapTrendMbPerHour: perHour(heapPoints),
    heapTrendR2: rSquared(heapPoints),
    rssTrendMbPerHour: perHour(rssPoints),
    heapFirstMb: first(heapPoints),
    heapLastMb: last(heapPoints),
    rssFirstMb: first(rssPoints),
    rssLastMb: last(rssPoints),
    flat: flatEnough(heapPoints) && flatEnough(rssPoints),
  };
}
