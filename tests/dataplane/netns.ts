/**
 * Network namespaces owned by one test run. Every name carries the run's random suffix, so runs of other
 * engineers on this machine are never touched; destroy() (also on unload and SIGINT/SIGTERM) stops every
 * process still inside them and deletes them, which takes their veths, bridge and nft tables with them.
 */
import { sh, shSync } from "./sh.ts";

const live = new Set<NetnsGroup>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
let unloadHooked = false;

function onSignal(): void {
  for (const group of live) group.destroySync();
  Deno.exit(130);
}

/** Cleanup on unload always; on SIGINT/SIGTERM only while a group is live (a listener keeps the process up). */
function installHooks(): void {
  if (!unloadHooked) {
    unloadHooked = true;
    globalThis.addEventListener("unload", () => {
      for (const group of live) group.destroySync();
    });
  }
  if (live.size === 0) { for (const s of SIGNALS) Deno.addSignalListener(s, onSignal); }
}

function releaseHooks(): void {
  if (live.size === 0) { for (const s of SIGNALS) Deno.removeSignalListener(s, onSignal); }
}

/** A set of namespaces named `<prefix>-<run>-<role>`. */
export class NetnsGroup {
  readonly run = crypto.randomUUID().slice(0, 6);
  #names: string[] = [];

  constructor(readonly prefix = "zl17") {
    installHooks();
    live.add(this);
  }

  /** The namespace name for a role, e.g. "node" -> "zl17-1a2b3c-node". */
  nameOf(role: string): string {
    return `${this.prefix}-${this.run}-${role}`;
  }

  /** Creates the namespace for `role` with its loopback up; returns its name. */
  async add(role: string): Promise<string> {
    const name = this.nameOf(role);
    this.#names.push(name); // recorded first: a half-made namespace is still cleaned up
    await sh("ip", ["netns", "add", name]);
    await sh("ip", ["-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  /** `ip -n <ns> args...` */
  ip(ns: string, args: string[]): Promise<string> {
    return sh("ip", ["-n", ns, ...args]);
  }

  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, cmd: string, args: string[]): Promise<string> {
    return sh("ip", ["netns", "exec", ns, cmd, ...args]);
  }

  get names(): readonly string[] {
    return this.#names;
  }

  /** Kills what still runs inside our namespaces and deletes them. Idempotent. */
  destroy(): Promise<void> {
    this.destroySync();
    return Promise.resolve();
  }

  /** destroy() without awaiting, for unload and signal handlers. */
  destroySync(): void {
    for (const name of this.#names.splice(0).reverse()) {
      // Only pids inside a namespace this run created: never anything else on the machine.
      const pids = shSync("ip", ["netns", "pids", name]).stdout.split(/\s+/).filter(Boolean);
      for (const pid of pids) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch { /* already gone */ }
      }
      shSync("ip", ["netns", "del", name]);
    }
    if (live.delete(this)) releaseHooks();
  }
}

/** Namespaces whose name starts with `prefix` (for tests that check nothing was left behind). */
export function namespacesWithPrefix(prefix: string): string[] {
  return shSync("ip", ["netns", "list"]).stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) =>
    n.startsWith(prefix)
  );
}
