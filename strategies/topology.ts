/** Where a candidate runs, as keys for spreading a leader pool over failure domains. */
import type { Candidate } from "../mod.ts";

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

/**
 * Reorders `ordered` (best first) so that, within each tier given by `tierOf`, the next pick is on a node and
 * then a zone not used by the earlier picks whenever one exists; otherwise the order of `ordered` is kept.
 */
export function spreadOverTopology(
  ordered: readonly Candidate[],
  tierOf: (c: Candidate) => number,
): Candidate[] {
  const remaining = [...ordered];
  const usedNodes = new Set<string>();
  const usedZones = new Set<string>();
  const result: Candidate[] = [];
  while (remaining.length > 0) {
    let best = 0;
    let bestKey = [Infinity, Infinity];
    for (let i = 0; i < remaining.length; i++) {
      const c = remaining[i];
      // A fresh node counts more than a fresh zone: losing a node is the more common failure.
      const spread = (usedNodes.has(nodeKeyOf(c)) ? 0 : 2) + (usedZones.has(zoneKeyOf(c)) ? 0 : 1);
      const key = [tierOf(c), -spread];
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = i;
        bestKey = key;
      }
    }
    const [picked] = remaining.splice(best, 1);
    usedNodes.add(nodeKeyOf(picked));
    usedZones.add(zoneKeyOf(picked));
    result.push(picked);
  }
  return result;
}
