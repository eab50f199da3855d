// Runs one control-plane process in its own process group, logging to a file, and stops it for sure.

/**
 * A bash supervisor, the leader of a new process group (setsid): it redirects the server's output to
 * the log file, records the server's pid, and stops the server (and removes `orphanDir`) if the
 * owning Deno process disappears — a killed test run leaves no etcd or kube-apiserver behind.
 * Arguments: owner pid, log file, pid file, orphan dir ("" for none), then the command.
 */
const SUPERVISOR = `
owner=$1 log=$2 pidfile=$3 orphan_dir=$4
shift 4
exec >>"$log" 2>&1 </dev/null
"$@" &
child=$!
echo "$child" >"$pidfile"
stop_child() {
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$child" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
}
trap 'stop_child; wait "$child"; exit 143' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$owner" 2>/dev/null; then
    echo "[zen-lead] owner process $owner is gone: stopping $1"
    stop_child
    [ -n "$orphan_dir" ] && rm -rf "$orphan_dir"
    exit 1
  fi
  sleep 1 & wait $!
done
wait "$child"
`;

export interface SupervisedProcessOptions {
  /** Short name used in messages and the log file name, e.g. "etcd". */
  name: string;
  command: string;
  args: string[];
  logPath: string;
  pidPath: string;
  /** Removed by the supervisor if this Deno process dies without calling stop(). */
  orphanDir?: string;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
}

/** A running process; `exited` settles when its supervisor ends. */
export class SupervisedProcess {
  readonly name: string;
  readonly logPath: string;
  /** Process group id (= the supervisor's pid); the server runs in the same group. */
  readonly pgid: number;
  readonly exited: Promise<Deno.CommandStatus>;
  #status: Deno.CommandStatus | undefined;
  #pidPath: string;

  private constructor(opts: SupervisedProcessOptions, child: Deno.ChildProcess) {
    this.name = opts.name;
    this.logPath = opts.logPath;
    this.#pidPath = opts.pidPath;
    this.pgid = child.pid;
    this.exited = child.status.then((status) => (this.#status = status));
  }

  static start(opts: SupervisedProcessOptions): SupervisedProcess {
    // deno-fmt-ignore
    const child = new Deno.Command("setsid", {
      args: [
        "bash", "-c", SUPERVISOR, `zen-lead-${opts.name}`,
        String(Deno.pid), opts.logPath, opts.pidPath, opts.orphanDir ?? "", opts.command, ...opts.args,
      ],
      env: opts.env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    return new SupervisedProcess(opts, child);
  }

  /** The exit status if the process already ended. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** The server's own pid (not the supervisor's), once the supervisor recorded it. */
  get serverPid(): number | undefined {
    try {
      const pid = Number(Deno.readTextFileSync(this.#pidPath).trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 30): string {
    try {
      const text = Deno.readTextFileSync(this.logPath).trimEnd().split("\n");
      return text.slice(-lines).join("\n");
    } catch (err) {
      return `(no log at ${this.logPath}: ${err})`;
    }
  }

  /** SIGTERM to the whole group, then SIGKILL after `graceMs`; resolves once no process of the group is left. */
  async stop(graceMs = 5_000): Promise<void> {
    signalGroup(this.pgid, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]).finally(() => clearTimeout(timer));
    if (timedOut) signalGroup(this.pgid, "SIGKILL");
    await this.exited;
    // The supervisor is gone; make sure its server did not outlive it.
    for (let i = 0; groupAlive(this.pgid); i++) {
      if (i >= 50) {
        throw new Error(`expected process group ${this.pgid} (${this.name}) to be gone, found it alive`);
      }
      signalGroup(this.pgid, "SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Synchronous last resort for unload handlers: SIGKILL to the group, no waiting. */
  killNow(): void {
    signalGroup(this.pgid, "SIGKILL");
  }
}

function signalGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err; // ESRCH: the group is already empty
  }
}

/**
 * True while a live process of the group exists. Reads /proc rather than probing with kill(), because
 * a zombie (an orphan that PID 1 of a minimal container never reaps) still counts for kill().
 */
export function groupAlive(pgid: number): boolean {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // Fields after "(comm) ": state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
    } catch { /* exited meanwhile */ }
  }
  return false;
}
