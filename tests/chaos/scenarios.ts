/**
 * The faults of the chaos suite, one round at a time: (a) kube-apiserver kill -9 and restart, (b) the active
 * replica SIGKILLed or SIGTERMed, (c) etcd SIGSTOPped, (d) a stalled connection or one-way partition of the
 * active replica, with and without a standby, (e) every pod deleted and recreated at once. Each round first makes
 * the leaders of some Services not Ready (failovers in flight), injects its fault, then measures how long until
 * every leader slice routes as the checker says it must.
 */
import { Pods } from "../../core/kube/paths.ts";
import type { ChaosEnv, ChaosReplica } from "./env.ts";

export type ScenarioName = "apiserver" | "replica" | "etcd" | "partition" | "churn";
export const SCENARIOS: Record<string, ScenarioName> = {
  a: "apiserver",
  b: "replica",
  c: "etcd",
  d: "partition",
  e: "churn",
};

export interface ScenarioOptions {
  /** Range of long API server outages (ms); short ones are 3-6 s. */
  longOutageMs: [number, number];
  etcdPauseMs: [number, number];
  /** How long a partition is held (longer than the lease, so a standby can take over). */
  partitionMs: [number, number];
  /** A round that has not converged this long after its fault ended counts its failovers as lost. */
  convergeBoundMs: number;
}

export interface RoundResult {
  scenario: ScenarioName;
  round: number;
  fault: string;
  /** Services whose leader was made not Ready this round. */
  failovers: number;
  /** From the failovers to every leader correct, and the same counted from the fault's end (0 if earlier). */
  convergenceMs?: number;
  afterFaultMs?: number;
  /** From the fault to another replica holding the Lease (scenarios that take the active replica away). */
  takeoverMs?: number;
  lostFailovers: number;
  /** Leaders still wrong after convergence (re-checked a few seconds later) or at the bound. */
  wrongLeaders: number;
  problems: string[];
  startedAt: string;
  endedAt: string;
}

const DEBUG = Deno.env.get("ZEN_LEAD_CHAOS_DEBUG") === "1";
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${e}`);
      await sleep(200);
    }
  }
}

export class ChaosRounds {
  /** Pods this suite made not Ready, to make Ready again before the next round. */
  private notReady: { service: string; pod: string }[] = [];
  private generation = 0;

  constructor(private readonly env: ChaosEnv, private readonly o: ScenarioOptions) {}

  /** Makes the pods of the last round Ready again and waits until the world is correct. */
  private async reset(): Promise<void> {
    for (const { pod } of this.notReady.splice(0)) {
      await retrying(`make ${pod} Ready`, () => this.env.kubelet.setPodReady(this.env.ns, pod, true)).catch(
        () => {},
      );
    }
    for (const r of this.env.replicas) if (!r.process) await r.start();
    await this.converged(Date.now() + 90_000);
  }

  /** Makes the current leaders of a fifth of the Services not Ready: failovers the controller must apply. */
  private async failovers(): Promise<number> {
    const routed = await retrying("read leader slices", () => this.env.routed());
    const picked = this.env.services.filter(() => Math.random() < 0.2);
    if (picked.length === 0) {
      picked.push(this.env.services[Math.floor(Math.random() * this.env.services.length)]);
    }
    await Promise.all(picked.map(async (service) => {
      const pod = routed.get(service);
      if (!pod) return;
      this.notReady.push({ service, pod });
      await retrying(`make ${pod} not Ready`, () => this.env.kubelet.setPodReady(this.env.ns, pod, false));
    }));
    return picked.length;
  }

  /** Polls the checker until no problem is left or `deadline`; the time it was first clean, or undefined. */
  private async converged(deadline: number, signal?: AbortSignal): Promise<number | undefined> {
    let shown = 0;
    while (Date.now() < deadline && !signal?.aborted) {
      const problems = await this.env.problems().catch(() => undefined);
      if (problems && problems.length === 0) return Date.now();
      if (DEBUG && problems && Date.now() - shown > 1000) {
        shown = Date.now();
        console.error(
          `[chaos] ${new Date().toISOString()} ${
            problems.map((p) => `${p.service}: ${p.problem}`).join("; ")
          }`,
        );
      }
      await sleep(100);
    }
    return undefined;
  }

  private async activeReplica(): Promise<{ active: ChaosReplica; standby: ChaosReplica | undefined }> {
    const holder = await retrying("read the Lease holder", async () => {
      const h = await this.env.holder();
      if (!this.env.replicas.some((r) => r.id === h && r.process)) throw new Error(`holder ${h || "none"}`);
      return h;
    });
    const active = this.env.replicas.find((r) => r.id === holder)!;
    return { active, standby: this.env.replicas.find((r) => r !== active && r.process) };
  }

  private async takeover(from: string, since: number, timeoutMs = 60_000): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const h = await this.env.holder().catch(() => from);
      if (h && h !== from) return Date.now() - since;
      await sleep(50);
    }
    return undefined;
  }

  async run(scenario: ScenarioName, round: number): Promise<RoundResult> {
    await this.reset();
    const startedAt = new Date().toISOString();
    let failovers = 0;
    let flipAt = Date.now();
    let firstClean: Promise<number | undefined> = Promise.resolve(undefined);
    // Polled while the fault runs too: failovers applied during a fault count from when they were.
    const stopPolling = new AbortController();
    const flip = async () => {
      failovers += await this.failovers();
      flipAt = Date.now();
      firstClean = this.converged(Date.now() + 10 * 60_000, stopPolling.signal);
    };
    let fault = "";
    let takeoverMs: number | undefined;
    let faultEnd = Date.now();
    const env = this.env;
    switch (scenario) {
      case "apiserver": {
        // Failovers in flight when it dies, and more the moment it is back (the watches must catch them).
        const downMs = round % 2 === 1 ? rand(3000, 6000) : rand(...this.o.longOutageMs);
        fault = `kube-apiserver SIGKILL, restarted after ${(downMs / 1000).toFixed(1)} s`;
        await flip();
        await sleep(rand(0, 50));
        await env.cluster.killProcess("kube-apiserver");
        await sleep(downMs);
        await env.cluster.restartProcess("kube-apiserver");
        faultEnd = Date.now();
        await flip();
        break;
      }
      case "replica": {
        // Killed at a random moment, then failovers only the standby can apply.
        const { active } = await this.activeReplica();
        const signal: Deno.Signal = round % 2 === 1 ? "SIGKILL" : "SIGTERM";
        await sleep(rand(0, 2000));
        fault = `${signal} of the active replica ${active.id}`;
        const at = Date.now();
        const killed = active.kill(signal);
        await flip();
        await killed;
        faultEnd = Date.now();
        takeoverMs = await this.takeover(active.id, at);
        break;
      }
      case "etcd": {
        const pauseMs = rand(...this.o.etcdPauseMs);
        fault = `etcd SIGSTOP for ${(pauseMs / 1000).toFixed(1)} s`;
        await flip();
        await sleep(rand(0, 50));
        env.cluster.signalProcess("etcd", "SIGSTOP");
        try {
          await sleep(pauseMs);
        } finally {
          env.cluster.signalProcess("etcd", "SIGCONT");
        }
        faultEnd = Date.now();
        await flip();
        break;
      }
      case "partition": {
        // Cut first, then failovers: with a standby it takes over and applies them; without, the healed leader does.
        const { active, standby } = await this.activeReplica();
        const mode = round % 2 === 1 ? "upstream" : "both";
        const withStandby = Math.floor((round - 1) / 2) % 2 === 0 && standby !== undefined;
        if (!withStandby && standby) await standby.kill("SIGTERM");
        const holdMs = rand(...this.o.partitionMs);
        fault = `${mode === "upstream" ? "one-way partition" : "stalled connections"} of ${active.id} for ` +
          `${(holdMs / 1000).toFixed(1)} s, ${withStandby ? "with" : "without"} a standby`;
        const at = Date.now();
        active.proxy.pause(mode);
        const took = withStandby ? this.takeover(active.id, at, holdMs + 30_000) : undefined;
        await sleep(rand(0, 1000));
        await flip();
        await sleep(Math.max(0, holdMs - (Date.now() - at)));
        active.proxy.resume();
        faultEnd = Date.now();
        if (took) takeoverMs = await took;
        break;
      }
      case "churn": {
        fault = "every pod deleted and recreated at once";
        const gen = ++this.generation;
        const pods = await retrying("list pods", () => env.admin.list(Pods, { namespace: env.ns }));
        this.notReady = [];
        flipAt = Date.now();
        await Promise.all([
          ...pods.items.map((p) =>
            env.admin.request({
              operation: "delete_pods",
              method: "DELETE",
              path: `/api/v1/namespaces/${env.ns}/pods/${p.metadata.name}`,
            }).catch(() => {})
          ),
          env.kubelet.createPods(
            env.ns,
            pods.items.length,
            (i) => ({
              name: `${pods.items[i].metadata.labels?.app}-g${gen}-${i}`,
              labels: pods.items[i].metadata.labels,
              ports: [{ name: "http", containerPort: 8080 }],
            }),
            { concurrency: 16 },
          ),
        ]);
        failovers = env.services.length;
        faultEnd = Date.now();
        break;
      }
    }
    const doneAt = await this.converged(faultEnd + this.o.convergeBoundMs);
    stopPolling.abort();
    const cleanAt = await firstClean;
    let problems = await retrying("check leaders", () => env.problems());
    let lostFailovers = 0;
    if (doneAt === undefined) {
      const flipped = new Set(this.notReady.map((n) => `${env.ns}/${n.service}`));
      // After churn every Service needs a new leader: each one still wrong is a lost failover.
      lostFailovers = scenario === "churn"
        ? problems.length
        : problems.filter((p) => flipped.has(p.service)).length;
    } else {
      await sleep(3000);
      problems = await retrying("check leaders", () => env.problems());
    }
    return {
      scenario,
      round,
      fault,
      failovers,
      convergenceMs: doneAt === undefined ? undefined : Math.min(cleanAt ?? doneAt, doneAt) - flipAt,
      afterFaultMs: doneAt === undefined ? undefined : Math.max(0, doneAt - faultEnd),
      takeoverMs,
      lostFailovers,
      wrongLeaders: problems.length,
      problems: problems.slice(0, 10).map((p) => `${p.service}: ${p.problem}`),
      startedAt,
      endedAt: new Date().toISOString(),
    };
  }
}
