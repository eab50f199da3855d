/**
 * The controller's side of the gRPC prober process. gRPC checks run in a child process because Deno 2.9.6's
 * HTTP/2 (nghttp2) can abort or segfault the whole process when a grpc-js channel closes while its connection
 * is going away (reproduced here: closing channels as pods' servers stop). In a child, such a crash costs a
 * restart: checks in flight are sent once more to the new process, and only a second loss reports them failed.
 */
import { fileURLToPath } from "node:url";
import { type HealthResult, type Logger, safeTimeout } from "../mod.ts";
import { abortReason } from "./_abort.ts";
import { PROBER_FLAG, type ProberReply, type ProberRequest, readLines } from "./grpc_prober_protocol.ts";

interface Pending {
  request: Extract<ProberRequest, { op: "check" }>;
  resolve(r: HealthResult): void;
  /** Already re-sent after a prober exit once. */
  retried: boolean;
}

/** The prober's own permissions: the network (to reach pods) and nothing else. */
export const PROBER_PERMISSIONS = ["--frozen", "--no-prompt", "--allow-net", "--ignore-env", "--deny-import"];

/**
 * How the prober process is started: the zen-lead binary itself, or `deno run` of the prober module. `--allow-run`
 * names the runtime as found on PATH (`deno`, or the binary's name), which may be a link to the real path that
 * Deno.execPath() reports; so the real path is tried first and the PATH name after it.
 */
function proberCommands(): { cmd: string; args: string[] }[] {
  const exec = Deno.execPath();
  if (Deno.build.standalone) {
    const args = [PROBER_FLAG];
    return [{ cmd: exec, args }, { cmd: exec.slice(exec.lastIndexOf("/") + 1), args }];
  }
  const config = fileURLToPath(new URL("../deno.json", import.meta.url));
  const main = fileURLToPath(new URL("./grpc_prober_main.ts", import.meta.url));
  const args = ["run", "--quiet", ...PROBER_PERMISSIONS, "--config", config, main];
  return [{ cmd: exec, args }, { cmd: "deno", args }];
}

function spawnProber(): Deno.ChildProcess {
  let last: unknown;
  for (const { cmd, args } of proberCommands()) {
    try {
      return new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "inherit" }).spawn();
    } catch (error) {
      last = error;
      if (!(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  throw last;
}

/** A prober that exits within this long of starting, twice in a row, is restarted only after a pause. */
const CRASH_LOOP_MS = 1000;

export class GrpcProber {
  private child?: Deno.ChildProcess;
  private writer?: WritableStreamDefaultWriter<Uint8Array>;
  private readonly pending = new Map<number, Pending>();
  private readonly stats = new Map<number, (channels: number) => void>();
  private nextId = 1;
  private closed = false;
  private startedAt = 0;
  private quickExits = 0;
  /** Prober processes that ended unexpectedly (crashes), for metrics and tests. */
  restarts = 0;
  private readonly encoder = new TextEncoder();

  constructor(private readonly logger?: Logger, private readonly onRestart?: () => void) {}

  /** Starts the process ahead of the first check, so that check does not pay its start-up. */
  warm(): void {
    if (!this.closed) this.ensure();
  }

  check(
    address: string,
    service: string,
    deadline: number | undefined,
    signal: AbortSignal,
  ): Promise<HealthResult> {
    if (signal.aborted) return Promise.resolve({ healthy: false, reason: abortReason(signal) });
    if (this.closed) return Promise.resolve({ healthy: false, reason: "gRPC prober closed" });
    const id = this.nextId++;
    const request = { op: "check" as const, id, address, service, deadline };
    return new Promise<HealthResult>((resolve) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.send({ op: "cancel", id });
        resolve({ healthy: false, reason: abortReason(signal) });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        request,
        retried: false,
        resolve: (r) => {
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        },
      });
      this.send(request);
    });
  }

  release(address: string): void {
    if (this.child) this.send({ op: "release", address });
  }

  /** Channels the prober keeps open. */
  openChannels(): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.stats.set(id, resolve);
      this.send({ op: "stats", id });
    });
  }

  /** The running prober's pid (tests kill it to prove a crash is survived). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.resolve({ healthy: false, reason: "gRPC prober closed" });
    this.pending.clear();
    const child = this.child;
    this.child = undefined;
    await this.writer?.close().catch(() => {});
    if (child) await child.status;
  }

  private send(req: ProberRequest): void {
    this.ensure();
    this.writer!.write(this.encoder.encode(JSON.stringify(req) + "\n")).catch(() => {
      // The process is gone; its exit handler re-sends what was pending.
    });
  }

  private ensure(): void {
    if (this.child || this.closed) return;
    const child = spawnProber();
    this.child = child;
    this.writer = child.stdin.getWriter();
    this.startedAt = Date.now();
    readLines(child.stdout, (line) => this.onReply(JSON.parse(line) as ProberReply)).catch(() => {});
    child.status.then((status) => this.onExit(child, status));
  }

  private onReply(r: ProberReply): void {
    if ("channels" in r) {
      this.stats.get(r.id)?.(r.channels);
      this.stats.delete(r.id);
      return;
    }
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    p.resolve({ healthy: r.healthy, reason: r.reason });
  }

  private onExit(child: Deno.ChildProcess, status: Deno.CommandStatus): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.writer = undefined;
    if (this.closed) return;
    this.restarts++;
    this.onRestart?.();
    const quick = Date.now() - this.startedAt < CRASH_LOOP_MS;
    this.quickExits = quick ? this.quickExits + 1 : 0;
    this.logger?.warn("gRPC prober process exited; restarting it", {
      code: status.code,
      signal: status.signal ?? undefined,
      inFlight: this.pending.size,
    });
    for (const [id, p] of this.pending) {
      if (p.retried) {
        this.pending.delete(id);
        p.resolve({
          healthy: false,
          reason: `gRPC prober process exited (code ${status.code}) twice during the check`,
        });
      } else p.retried = true;
    }
    for (const resolve of this.stats.values()) resolve(0);
    this.stats.clear();
    const resend = () => {
      if (this.closed) return;
      for (const p of this.pending.values()) this.send(p.request);
    };
    // A crash loop gets a pause rather than a busy restart; pending checks time out meanwhile.
    if (this.quickExits >= 2) safeTimeout(resend, CRASH_LOOP_MS);
    else resend();
  }
}
