/** How fit a candidate's node is to host a leader, as the `node-aware` strategy sees it. */
import type { Candidate, NodeView } from "../mod.ts";

/**
 * - `healthy`: Ready, schedulable and without NoSchedule/NoExecute taints.
 * - `degraded`: Ready but cordoned or tainted, so it is likely being drained.
 * - `unobserved`: no Node object is known for the pod (not yet in the cache).
 * - `unreachable`: NotReady or Unknown; its pods may still read Ready because nobody can update them.
 */
export type NodeStanding = "healthy" | "degraded" | "unobserved" | "unreachable";

/** Taint effects that say the node should not run (new) work. */
const REPELLING_EFFECTS: ReadonlySet<string> = new Set(["NoSchedule", "NoExecute"]);

export function isRepellingTaint(taint: NodeView["taints"][number]): boolean {
  return REPELLING_EFFECTS.has(taint.effect);
}

export function nodeStanding(candidate: Candidate): NodeStanding {
  const node = candidate.node;
  if (!node) return "unobserved";
  if (node.ready !== true) return "unreachable";
  if (node.unschedulable || node.taints.some(isRepellingTaint)) return "degraded";
  return "healthy";
}

/** Ranking tier of each acceptable standing, best first; `unreachable` has none because it is never ranked. */
export const STANDING_TIER: Readonly<Record<Exclude<NodeStanding, "unreachable">, number>> = {
  healthy: 0,
  degraded: 1,
  // A missing Node is not proof of a dead one (the watch may lag), so its pods stay usable, last.
  unobserved: 2,
};
