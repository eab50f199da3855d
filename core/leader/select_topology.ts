/** Failure domains of a candidate, and the order that spreads a leader pool over them. */
import type { Candidate } from "../plugin/types.ts";

/** The node a candidate runs on; a pod with no known node counts as its own domain. */
export function nodeKeyOf(candidate: Candidate): string {
  const name = candidate.pod.nodeName ?? candidate.node?.name;
  return name ? `node:${name}` : `pod:${candidate.pod.uid}`;
}

/** The zone a candidate runs in; without a zone label its node is the widest domain known, so it stands in. */
export function zoneKeyOf(candidate: Candidate): string {
  const zone = candidate.node?.zone;
  return zone !== undefined ? `zone:${zone}` : nodeKeyOf(candidate);
}

/** The nodes and zones a pool already occupies. */
export class UsedDomains {
  /** Node keys (`nodeKeyOf`) the pool uses. */
  readonly nodes: Set<string> = new Set<string>();
  /** Zone keys (`zoneKeyOf`) the pool uses. */
  readonly zones: Set<string> = new Set<string>();

  /** Marks the node and zone of `candidate` as used. */
  add(candidate: Candidate): void {
    this.nodes.add(nodeKeyOf(candidate));
    this.zones.add(zoneKeyOf(candidate));
  }
}

/**
 * Takes up to `limit` of `ordered` (best first), each time the first pod on a node the pool does not use yet,
 * preferring one whose zone is unused too; once every node is used, the rest follow in `ordered` order.
 * Picks are added to `used`. A fresh node beats a fresh zone because losing a node is the commoner failure.
 *
 * Only the first pod of each unused node can be the next pick (later pods there are worse at the same spread),
 * so this costs O(pods + nodes²), not O(pods²).
 */
export function spreadPicks(ordered: readonly Candidate[], used: UsedDomains, limit: number): Candidate[] {
  if (limit <= 0) return [];
  const firstOnNode = new Map<string, Candidate>();
  for (const c of ordered) {
    const node = nodeKeyOf(c);
    if (!used.nodes.has(node) && !firstOnNode.has(node)) firstOnNode.set(node, c);
  }
  const picks: Candidate[] = [];
  const picked = new Set<Candidate>();
  const take = (c: Candidate) => {
    picks.push(c);
    picked.add(c);
    used.add(c);
  };
  while (picks.length < limit && firstOnNode.size > 0) {
    let next: Candidate | undefined;
    for (const c of firstOnNode.values()) {
      if (!used.zones.has(zoneKeyOf(c))) {
        next = c;
        break;
      }
    }
    next ??= firstOnNode.values().next().value!;
    firstOnNode.delete(nodeKeyOf(next));
    take(next);
  }
  for (const c of ordered) {
    if (picks.length >= limit) break;
    if (!picked.has(c)) take(c);
  }
  return picks;
}
