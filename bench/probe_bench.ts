/**
 * Probe scheduler benchmark: many targets at a 1 s interval, with a fake instant checker and with real HTTP or
 * gRPC servers on a few loopback addresses, in a process of their own (bench/probe_targets_main.ts) so the
 * figures are the prober's. Prints probe start lag (p50/p99/max), probes per second, timers alive in the
 * process and RSS. The scheduler must hold its interval without timers piling up.
 *
 *   npx -y deno@2.9.6 run -A bench/probe_bench.ts [--targets=1000] [--seconds=15] [--mode=all|fake|http|grpc]
 */
import { ProbeScheduler } from "../core/probing/scheduler.ts";
import { DEFAULT_SCHEDULE } from "../core/probing/spec.ts";
import type { HealthChecker, PodView } from "../core/plugin/types.ts";
import { httpChecker, type HttpCheckSpec } from "../health/http.ts";
import { type GrpcCheckSpec, GrpcHealthChecker } from "../health/grpc.ts";
import { podView } from "../tests/harness/pod_view.ts";
import { readLine } from "../tests/harness/read_line.ts";

export type ProbeBenchMode = "fake" | "http" | "grpc";

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
  return podView(`pod-${i}`, { namespace: "bench", uid: `uid-${i}`, ip });
}

/** Runs one benchmark phase and returns its figures; starts and stops its own servers. */
export async function runProbeBench(opts: ProbeBenchOptions = {}): Promise<ProbeBenchResult> {
  const mode = opts.mode ?? "fake";
  const targets = opts.targets ?? 1000;
  const seconds = opts.seconds ?? 15;
  const intervalMs = opts.intervalMs ?? 1000;
  const serverCount = opts.httpServers ?? 4;

  const targetsProcess = mode === "fake" ? undefined : await startTargets(mode, serverCount);
  const servers = (targetsProcess?.ports ?? []).map((port, i) => ({
    addr: { hostname: `127.0.0.${41 + i}`, port },
  }));

  const timers = trackTimers();
  const lags: number[] = [];
  let probes = 0;
  let failures = 0;
  let closing = false;
  const reasons = new Map<string, number>();
  const fake: HealthChecker = { check: () => Promise.resolve({ healthy: true, reason: "ok" }) };
  const grpcChecker = mode === "grpc" ? new GrpcHealthChecker() : undefined;
  const base = (mode === "http" ? httpChecker : grpcChecker ?? fake) as HealthChecker;
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
    const spec: HttpCheckSpec | GrpcCheckSpec = mode === "grpc" ? { port: server!.addr.port, service: "" } : {
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
  await grpcChecker?.closeAll();
  await targetsProcess?.stop();

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

/** Starts the target servers in their own process; resolves with their ports once they listen. */
async function startTargets(kind: "http" | "grpc", count: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./probe_targets_main.ts", import.meta.url).pathname, kind, String(count)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const line = await readLine(reader);
  if (line === undefined) throw new Error(`probe targets (${kind}) exited before listening`);
  const ports = (JSON.parse(line) as { ports: number[] }).ports;
  reader.releaseLock();
  return {
    ports,
    async stop() {
      await child.stdin.close();
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
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
  const mode = arg("mode") ?? "all";
  const common = { targets: Number(arg("targets") ?? 1000), seconds: Number(arg("seconds") ?? 15) };
  const modes: ProbeBenchMode[] = mode === "all" || mode === "both"
    ? ["fake", "http", "grpc"]
    : [mode as ProbeBenchMode];
  for (const m of modes) {
    const r = await runProbeBench({ ...common, mode: m });
    console.log(formatProbeBench(r));
    console.log(JSON.stringify(r));
  }
}
