/** Failure domains of a candidate, for spreading a leader pool over nodes and zones. */
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

/** The domains a pool already occupies. */
export class UsedDomains {
  readonly #nodes = new Set<string>();
  readonly #zones = new Set<string>();

  add(candidate: Candidate): void {
    this.#nodes.add(nodeKeyOf(candidate));
    this.#zones.add(zoneKeyOf(candidate));
  }

  /** 3 for a fresh node in a fresh zone, 2 for a fresh node, 1 for a fresh zone only, 0 otherwise. */
  spreadScore(candidate: Candidate): number {
    // A fresh node counts more than a fresh zone: losing a node is the more common failure.
    return (this.#nodes.has(nodeKeyOf(candidate)) ? 0 : 2) + (this.#zones.has(zoneKeyOf(candidate)) ? 0 : 1);
  }
}
