/**
 * Probe scheduler benchmark: many targets at a 1 s interval, with a fake instant checker and with real HTTP
 * servers on a few loopback addresses. Prints probe start lag (p50/p99/max), probes per second, timers alive in
 * the process and RSS. The scheduler must hold its interval without timers piling up.
 *
 *   npx -y deno@2.9.6 run -A bench/probe_bench.ts [--targets=1000] [--seconds=15] [--mode=both|fake|http]
 */
import { ProbeScheduler } from "../core/health/scheduler.ts";
import { DEFAULT_SCHEDULE } from "../core/health/spec.ts";
import type { HealthChecker, PodView } from "../core/plugin/types.ts";
import { httpChecker, type HttpCheckSpec } from "../health/http.ts";

export type ProbeBenchMode = "fake" | "http";

export interface ProbeBenchOptions {
  mode?: ProbeBenchMode;
  targets?: number;
  /** How long to probe, after registration. */
  seconds?: number;
  intervalMs?: number;
  concurrency?: number;
  /** Loopback servers for the http mode, on 127.0.0.41, .42, ... */
  httpServers?: number;
}

export interface ProbeBenchResult {
  mode: ProbeBenchMode;
  targets: number;
  seconds: number;
  intervalMs: number;
  probes: number;
  probesPerSecond: number;
  /** Checks that answered unhealthy (none expected: every server answers 200). */
  failures: number;
  /** Failed checks by reason, digits masked. */
  failureReasons: Record<string, number>;
  lagMs: { p50: number; p99: number; max: number };
  /** Most timers alive in the whole process at any sample, and the scheduler's own (0 or 1). */
  timers: { processMax: number; schedulerMax: number };
  rssMiB: { start: number; end: number; max: number };
}

// The bench's own timers use the unwrapped functions, so only the code under test is counted.
const benchTimers = { setTimeout, setInterval, clearInterval };

/** Counts live timers process-wide by wrapping the global timer functions for the bench's duration. */
function trackTimers() {
  const live = new Set<unknown>();
  const g = globalThis as unknown as Record<string, (...args: unknown[]) => unknown>;
  const orig = {
    setTimeout: g.setTimeout,
    clearTimeout: g.clearTimeout,
    setInterval: g.setInterval,
    clearInterval: g.clearInterval,
  };
  g.setTimeout = (fn: unknown, ms?: unknown, ...rest: unknown[]) => {
    const id = orig.setTimeout(
      (...a: unknown[]) => {
        live.delete(id);
        if (typeof fn === "function") fn(...a);
      },
      ms,
      ...rest,
    );
    live.add(id);
    return id;
  };
  g.clearTimeout = (id: unknown) => {
    live.delete(id);
    orig.clearTimeout(id);
  };
  g.setInterval = (...args: unknown[]) => {
    const id = orig.setInterval(...args);
    live.add(id);
    return id;
  };
  g.clearInterval = (id: unknown) => {
    live.delete(id);
    orig.clearInterval(id);
  };
  return {
    get live() {
      return live.size;
    },
    restore() {
      Object.assign(g, orig);
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const mib = (bytes: number) => Math.round(bytes / 1024 / 1024 * 10) / 10;

function pod(i: number, ip: string): PodView {
  return {
    namespace: "bench",
    name: `pod-${i}`,
    uid: `uid-${i}`,
    ip,
    labels: {},
    annotations: {},
    createdAt: 0,
    ports: [],
  };
}

/** Runs one benchmark phase and returns its figures; starts and stops its own servers. */
export async function runProbeBench(opts: ProbeBenchOptions = {}): Promise<ProbeBenchResult> {
  const mode = opts.mode ?? "fake";
  const targets = opts.targets ?? 1000;
  const seconds = opts.seconds ?? 15;
  const intervalMs = opts.intervalMs ?? 1000;
  const serverCount = opts.httpServers ?? 4;

  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  if (mode === "http") {
    for (let i = 0; i < serverCount; i++) {
      servers.push(
        Deno.serve({ hostname: `127.0.0.${41 + i}`, port: 0, onListen() {} }, () => new Response("ok")),
      );
    }
  }

  const timers = trackTimers();
  const lags: number[] = [];
  let probes = 0;
  let failures = 0;
  let closing = false;
  const reasons = new Map<string, number>();
  const fake: HealthChecker = { check: () => Promise.resolve({ healthy: true, reason: "ok" }) };
  const base = mode === "http" ? httpChecker as HealthChecker : fake;
  const checker: HealthChecker = {
    check: async (p, spec, signal, deadline) => {
      const r = await base.check(p, spec, signal, deadline);
      if (!r.healthy && !closing) {
        failures++;
        reasons.set(r.reason.replace(/\d+/g, "N"), (reasons.get(r.reason.replace(/\d+/g, "N")) ?? 0) + 1);
      }
      return r;
    },
  };
  const scheduler = new ProbeScheduler({ concurrency: opts.concurrency, onLag: (ms) => lags.push(ms) });

  const rssStart = Deno.memoryUsage().rss;
  let rssMax = rssStart;
  let processMax = 0;
  let schedulerMax = 0;
  for (let i = 0; i < targets; i++) {
    const server = servers[i % Math.max(1, servers.length)];
    const spec: HttpCheckSpec = {
      scheme: "http",
      port: server?.addr.port ?? 80,
      path: "/healthz",
      expectedStatus: { min: 200, max: 399 },
      headers: {},
    };
    scheduler.upsert({
      podUID: `uid-${i}`,
      serviceKey: `bench/svc-${i % 100}`,
      role: "leader",
      pod: pod(i, server?.addr.hostname ?? `10.0.${i >> 8}.${i & 255}`),
      checker,
      spec,
      schedule: { ...DEFAULT_SCHEDULE, intervalMs },
      type: mode,
    });
  }

  const started = performance.now();
  const sampler = benchTimers.setInterval(() => {
    processMax = Math.max(processMax, timers.live);
    schedulerMax = Math.max(schedulerMax, scheduler.stats().timers);
    rssMax = Math.max(rssMax, Deno.memoryUsage().rss);
  }, 100);
  await new Promise((resolve) => benchTimers.setTimeout(resolve, seconds * 1000));
  benchTimers.clearInterval(sampler);
  closing = true;
  const elapsed = (performance.now() - started) / 1000;
  probes = lags.length;
  scheduler.close();
  timers.restore();
  for (const s of servers) await s.shutdown();

  const sorted = lags.sort((a, b) => a - b);
  return {
    mode,
    targets,
    seconds: Math.round(elapsed * 10) / 10,
    intervalMs,
    probes,
    probesPerSecond: Math.round(probes / elapsed),
    failures,
    failureReasons: Object.fromEntries(reasons),
    lagMs: {
      p50: round1(percentile(sorted, 0.5)),
      p99: round1(percentile(sorted, 0.99)),
      max: round1(sorted.at(-1) ?? 0),
    },
    timers: { processMax, schedulerMax },
    rssMiB: { start: mib(rssStart), end: mib(Deno.memoryUsage().rss), max: mib(rssMax) },
  };
}

export function formatProbeBench(r: ProbeBenchResult): string {
  return `probe bench [${r.mode}] ${r.targets} targets every ${r.intervalMs} ms for ${r.seconds} s: ` +
    `${r.probes} probes (${r.probesPerSecond}/s), lag p50 ${r.lagMs.p50} ms p99 ${r.lagMs.p99} ms ` +
    `max ${r.lagMs.max} ms, timers alive max ${r.timers.processMax} (scheduler ${r.timers.schedulerMax}), ` +
    `failed checks ${r.failures}${
      r.failures ? ` ${JSON.stringify(r.failureReasons)}` : ""
    }, RSS ${r.rssMiB.start} -> ${r.rssMiB.end} MiB (max ${r.rssMiB.max})`;
}

if (import.meta.main) {
  const arg = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const mode = arg("mode") ?? "both";
  const common = { targets: Number(arg("targets") ?? 1000), seconds: Number(arg("seconds") ?? 15) };
  const modes: ProbeBenchMode[] = mode === "both" ? ["fake", "http"] : [mode as ProbeBenchMode];
  for (const m of modes) {
    const r = await runProbeBench({ ...common, mode: m });
    console.log(formatProbeBench(r));
    console.log(JSON.stringify(r));
  }
}
