/** Pod egress: pods labelled with an egress name share one outbound gateway service (a NAT gateway). */
import { isIP } from "node:net";
import type { ServiceBook } from "./book.ts";
import type { EngineContext } from "./context.ts";
import { desire, newRecord } from "./service_state.ts";

/** A pod as the egress hooks see it: the egress it asks for (from its label) and where it runs. */
export interface EgressPod {
  uid: string;
  ip?: string;
  nodeIP?: string;
  /** Egress name; undefined when the pod uses none. */
  egress?: string;
}

const EGRESS_NAME = /^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$/;

export class EgressIntake {
  private readonly pods = new Map<string, EgressPod>();

  constructor(private readonly ctx: EngineContext, private readonly book: ServiceBook) {}

  serviceName(egress: string): string {
    return `${this.ctx.config.servicePrefix}egress-${egress}`;
  }

  /** Returns whether the change concerns egress at all (most pods ask for none and need no work). */
  updatePod(pod: EgressPod): boolean {
    const before = this.pods.get(pod.uid)?.egress;
    if (pod.egress !== undefined && !EGRESS_NAME.test(pod.egress)) {
      this.ctx.log.warn("pod egress ignored: egress name must be a DNS label of at most 50 characters", {
        podUID: pod.uid,
        egress: pod.egress,
      });
      pod = { ...pod, egress: undefined };
    }
    if (pod.egress && pod.ip && pod.nodeIP && isIP(pod.ip) && isIP(pod.nodeIP)) this.pods.set(pod.uid, pod);
    else this.pods.delete(pod.uid);
    if (!before && !pod.egress) return false;
    for (const e of new Set([before, pod.egress])) if (e) this.recompute(e);
    return true;
  }

  deletePod(uid: string): boolean {
    const before = this.pods.get(uid);
    if (!before) return false;
    this.pods.delete(uid);
    if (before.egress) this.recompute(before.egress);
    return true;
  }

  /** Level-triggered: the complete set of pods with egress; pods not listed are gone. */
  applyEgress(pods: readonly EgressPod[]): void {
    const seen = new Set(pods.map((p) => p.uid));
    for (const uid of [...this.pods.keys()]) if (!seen.has(uid)) this.deletePod(uid);
    for (const p of pods) this.updatePod(p);
  }

  private recompute(egress: string): void {
    const { book } = this;
    const name = this.serviceName(egress);
    const members = new Map<string, string>();
    for (const p of this.pods.values()) if (p.egress === egress) members.set(p.ip!, p.nodeIP!);
    const now = this.ctx.clock.now();
    const existing = book.records.get(name);
    if (!existing && members.size === 0) return;
    const rec = existing ?? newRecord(name, "outbound", now);
    book.specs.set(name, { kind: "outbound", name });
    if (members.size > 0) {
      if (rec.adopted) book.active.set(name, new Map());
      book.put(name, desire(rec, true, false, now));
      book.setMembership(name, members, "pod");
    } else {
      // The last egress pod is gone: its address goes first, then the service once nothing references it.
      book.setMembership(name, members, "pod");
      book.put(name, desire(book.records.get(name)!, false, false, now));
    }
  }
}
