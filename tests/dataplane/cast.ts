/**
 * The pods of a data-plane run and the failover loop both the e2e test and the benchmark use: fault the
 * current leader, measure, repair (a deleted pod is replaced in its slot under a new name, as a ReplicaSet
 * would), and wait until the repaired pod can lead again.
 */
import type { ClientLog } from "./client_log.ts";
import { currentLeader, type FailoverSample, type FaultKind, measureFailover } from "./failover.ts";
import { type Lab, type LabPod, until } from "./lab.ts";

/** The HTTP check of the issue: every 1 s, 2 failures fail over; candidates checked every second too. */
export const HTTP_CHECK = JSON.stringify({
  type: "http",
  port: "http",
  path: "/healthz",
  intervalSeconds: 1,
  failureThreshold: 2,
  timeoutSeconds: 0.5,
  candidateIntervalSeconds: 1,
});

export class Cast {
  readonly pods = new Map<string, LabPod>();
  #made = 0;

  private constructor(readonly lab: Lab) {}

  /** One pod per slot, a second apart so web-0 is the oldest (creation timestamps have 1 s resolution). */
  static async start(lab: Lab): Promise<Cast> {
    const cast = new Cast(lab);
    for (const [i, slot] of lab.topology.slots.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1001));
      await cast.#add(slot);
    }
    return cast;
  }

  async #add(slot: LabPod["slot"]): Promise<LabPod> {
    const pod = await this.lab.startPod(slot, `web-${this.#made++}`);
    this.pods.set(pod.name, pod);
    return pod;
  }

  /** A deleted pod's successor in the same slot, under a new name (as its ReplicaSet would create it). */
  async replace(pod: LabPod): Promise<LabPod> {
    this.pods.delete(pod.name);
    return await this.#add(pod.slot);
  }

  async leader(): Promise<LabPod> {
    const name = await until("a leader", 15_000, () => currentLeader(this.lab));
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`expected the leader ${name} to be one of ${[...this.pods.keys()]}, found not`);
    return pod;
  }

  /** Faults the leader, measures, repairs; resolves once the repaired pod is a healthy candidate again. */
  async failover(client: ClientLog, kind: FaultKind, opts?: { settleMs?: number }): Promise<FailoverSample> {
    const pod = await this.leader();
    const { sample, repair } = await measureFailover(this.lab, client, kind, pod, opts);
    await repair();
    if (kind === "deletion") await this.replace(pod);
    // A repaired server is healthy again after one successful candidate check (interval 1 s).
    if (kind === "killed" || kind === "vethDown") await new Promise((r) => setTimeout(r, 1500));
    return sample;
  }
}
