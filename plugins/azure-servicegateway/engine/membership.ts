/**
 * Which pods each gateway service routes to, as ordered changes: what the engine buffers while a service is
 * not created yet and replays, in order, once it is.
 */

/** podIP -> nodeIP of one service. */
export type PodLocations = ReadonlyMap<string, string>;

export interface MembershipChange {
  op: "add" | "remove";
  podIP: string;
  nodeIP: string;
}

/** The changes that turn `prev` into `next`: removals first, so a pod that moved nodes is re-added cleanly. */
export function membershipChanges(prev: PodLocations, next: PodLocations): MembershipChange[] {
  const removes: MembershipChange[] = [];
  const adds: MembershipChange[] = [];
  for (const [podIP, nodeIP] of prev) {
    if (next.get(podIP) !== nodeIP) removes.push({ op: "remove", podIP, nodeIP });
  }
  for (const [podIP, nodeIP] of next) {
    if (prev.get(podIP) !== nodeIP) adds.push({ op: "add", podIP, nodeIP });
  }
  return [...removes, ...adds];
}

/** Applies changes in order to a mutable membership. */
export function applyChanges(target: Map<string, string>, changes: readonly MembershipChange[]): void {
  for (const c of changes) {
    if (c.op === "add") target.set(c.podIP, c.nodeIP);
    else if (target.get(c.podIP) === c.nodeIP) target.delete(c.podIP);
  }
}
