/**
 * zen-lead as a child process (`deno run -A main.ts`), so its memory and CPU are its own: RSS and CPU from
 * /proc/<pid>, the V8 heap and API call counts from its /metrics.
 */
import { fileURLToPath } from "node:url";
import { freePorts } from "../tests/harness/ports.ts";
import { Inspector, type PostGcMemory } from "./inspector.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLOCK_TICKS_PER_SECOND = 100;

/** One sample series of the Prometheus text format, e.g. `zen_lead_api_writes_total{kind="Service"} 3`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (comments skipped). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's series whose labels pass `where`. */
export function sumOf(
  samples: readonly Sample[],
  name: string,
  where?: (l: Record<string, string>) => boolean,
) {
  return samples.filter((s) => s.name === name && (!where || where(s.labels))).reduce(
    (a, s) => a + s.value,
    0,
  );
}

/** Writes the controller made to the API server, by operation, from its per-operation call counts. */
export function apiWritesByOperation(samples: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== "zen_lead_api_call_duration_seconds_count") continue;
    const op = s.labels.operation ?? "";
    if (/^(create|replace|patch|apply|delete)_/.test(op)) out[op] = (out[op] ?? 0) + s.value;
  }
  return out;
}

export interface ProcStats {
  rssBytes: number;
  cpuSeconds: number;
}

export interface TreeStats extends ProcStats {
  /** The main process alone (the rest are its helpers, e.g. the gRPC prober). */
  main: ProcStats;
  processes: number;
}

/** VmRSS and utime+stime of a live process (Linux). */
export async function procStats(pid: number): Promise<ProcStats> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKb = Number(status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1] ?? NaN);
  const fields = await statFields(pid);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND };
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces): state is [0], ppid [1]. */
async function statFields(pid: number): Promise<string[]> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** The pids of every live descendant of `pid`. */
export async function descendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const ppid = Number((await statFields(Number(e.name)))[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e.name)]);
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = [];
  const todo = [...(children.get(pid) ?? [])];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * The controller's footprint: its process and every helper it started (what a container's memory limit counts).
 * CPU of helpers that already exited is not included.
 */
export async function treeStats(pid: number): Promise<TreeStats> {
  const main = await procStats(pid);
  let rssBytes = main.rssBytes;
  let cpuSeconds = main.cpuSeconds;
  let processes = 1;
  for (const child of await descendants(pid)) {
    try {
      const s = await procStats(child);
      rssBytes += s.rssBytes;
      cpuSeconds += s.cpuSeconds;
      processes++;
    } catch { /* exited meanwhile */ }
  }
  return { rssBytes, cpuSeconds, main, processes };
}

export interface ControllerProcess {
  pid: number;
  metricsPort: number;
  logPath: string;
  /** Milliseconds (performance.now) when the process was spawned. */
  spawnedAt: number;
  waitReady(timeoutMs: number): Promise<number>;
  metrics(): Promise<Sample[]>;
  /** RSS and CPU of the controller and its helper processes together. */
  stats(): Promise<TreeStats>;
  /** Memory after a forced full collection, through the controller's inspector (loopback only). */
  postGcMemory(): Promise<PostGcMemory>;
  /** The controller's inspector, connected on first use (heap snapshots). */
  inspector(): Promise<Inspector>;
  stop(): Promise<void>;
}

/** The runtime settings deploy/deployment.yaml gives the controller (glibc malloc and V8). */
export const CONTROLLER_RUNTIME_ENV: Record<string, string> = {
  POD_NAMESPACE: "zen-lead-system",
  MALLOC_MMAP_THRESHOLD_: "65536",
  MALLOC_TRIM_THRESHOLD_: "131072",
  DENO_V8_FLAGS: "--max-semi-space-size=1",
};

function pick(env: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(
    keys.filter((k) => env[k] !== undefined && k !== "POD_NAMESPACE").map((k) => [k, env[k]]),
  );
}

function controllerEnv(v8Flags: string): Record<string, string> {
  const env = {
    ...CONTROLLER_RUNTIME_ENV,
    ...pick(Deno.env.toObject(), Object.keys(CONTROLLER_RUNTIME_ENV)),
  };
  // DENO_V8_FLAGS is a comma-separated list.
  if (v8Flags.trim()) env.DENO_V8_FLAGS = [env.DENO_V8_FLAGS, v8Flags.trim()].filter(Boolean).join(",");
  return env;
}

/**
 * Spawns the controller on `kubeconfig` with free loopback ports, no leader election, logs to `logPath`;
 * `v8Flags` are added to the controller's DENO_V8_FLAGS (not the bench's own).
 */
export async function spawnController(
  kubeconfig: string,
  extraArgs: readonly string[],
  logPath: string,
  v8Flags = "",
): Promise<ControllerProcess> {
  const [metricsPort, healthPort, inspectPort] = freePorts(3);
  const log = await Deno.open(logPath, { write: true, create: true, truncate: true });
  const spawnedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      // The inspector only answers on loopback; the bench uses it for post-GC memory readings.
      `--inspect=127.0.0.1:${inspectPort}`,
      `${ROOT}main.ts`,
      `--kubeconfig=${kubeconfig}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      "--leader-elect=false",
      "--log-level=warn",
      ...extraArgs,
    ],
    // As deploy/deployment.yaml runs it (README "Tuning"); a caller's environment may override these.
    env: controllerEnv(v8Flags),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  // Both streams into one file, chunk by chunk (a file's writable stream takes one pipe at a time).
  const pumps = [child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream) {
      for (let off = 0; off < chunk.length;) off += await log.write(chunk.subarray(off));
    }
  }).map((p) => p.catch(() => {})); // a log write failure must not end the bench
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => exited = s);
  const get = async (port: number, path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = await res.text();
    return { ok: res.ok, body };
  };
  let inspecting: Promise<Inspector> | undefined;
  const inspector = () => inspecting ??= Inspector.connect(inspectPort);
  return {
    pid: child.pid,
    metricsPort,
    logPath,
    spawnedAt,
    async waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited) {
          throw new Error(`controller exited with code ${exited.code} before ready; see ${logPath}`);
        }
        try {
          if ((await get(healthPort, "/readyz")).ok) return performance.now();
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(
        `controller not ready on 127.0.0.1:${healthPort}/readyz after ${timeoutMs} ms; see ${logPath}`,
      );
    },
    async metrics() {
      return parsePrometheus((await get(metricsPort, "/metrics")).body);
    },
    stats: () => treeStats(child.pid),
    inspector,
    async postGcMemory() {
      return await (await inspector()).postGcMemory();
    },
    async stop() {
      if (inspecting) (await inspecting.catch(() => undefined))?.close();
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 15_000);
        await status;
        clearTimeout(timer);
      }
      await Promise.allSettled(pumps);
      log.close();
    },
  };
}
