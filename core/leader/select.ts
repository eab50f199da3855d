/**
 * Turns a strategy's ranking into the leaders of one Service: sticky, priority and pool rules. Pure.
 *
 * The rules, strongest first:
 * 1. Only pods the strategy ranked, and that are among the candidates, can lead (unranked = not acceptable).
 * 2. Priority: a higher `zen-lead.io/priority` always wins a slot over a lower one, before stickiness and before
 *    the strategy's order. A current leader therefore loses its place to any ranked candidate with a strictly
 *    higher priority when no free slot is left for it.
 * 3. Sticky (default): among equal priorities, a current leader that is still ranked keeps its slot, and the
 *    kept leaders keep their relative order (moving up over freed slots), so a healthy leader is never moved
 *    just because the ranking changed and a surviving pool member, not a newcomer, becomes primary.
 * 4. Free slots are filled in the strategy's order, preferring pods on nodes, then zones, that the pool does not
 *    use yet whenever such a pod exists, so one node or zone failure cannot take the whole pool down.
 */
import type { Candidate } from "../plugin/types.ts";
import { spreadPicks, UsedDomains } from "./select_topology.ts";

export interface SelectionInput {
  /** The strategy's output: pod UIDs, best first. */
  ranked: readonly string[];
  /** The eligible, healthy pods that were given to the strategy. */
  candidates: readonly Candidate[];
  /** UIDs of the pods leading now, in endpoint order. */
  currentLeaders: readonly string[];
  /** Wanted number of leaders (`zen-lead.io/leader-count`). */
  count: number;
  /** `zen-lead.io/sticky` (true unless the Service says "false"). */
  sticky: boolean;
}

export interface LeaderSelection {
  /** The new leaders in endpoint order: min(count, acceptable) distinct pod UIDs. */
  leaders: string[];
  /** Leaders now that were leaders before, in `leaders` order. */
  kept: string[];
  /** Leaders now that were not leaders before, in `leaders` order. */
  added: string[];
  /** Leaders before that lead no more, in their former order. */
  dropped: string[];
}

/**
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { selectLeaders } from "./select.ts";
 * const pod = (uid: string) => ({
 *   pod: { namespace: "ns", name: uid, uid, ip: "10.0.0.1", labels: {}, annotations: {}, createdAt: 0, ports: [] },
 *   priority: 0,
 * });
 * const result = selectLeaders({
 *   ranked: ["a", "b"], candidates: [pod("a"), pod("b")], currentLeaders: ["b"], count: 1, sticky: true,
 * });
 * // Sticky keeps b although the strategy now prefers a.
 * deepStrictEqual(result, { leaders: ["b"], kept: ["b"], added: [], dropped: [] });
 * ```
 */
export function selectLeaders(input: SelectionInput): LeaderSelection {
  const byUid = new Map(input.candidates.map((c) => [c.pod.uid, c]));
  const acceptable = unique(input.ranked).filter((uid) => byUid.has(uid)).map((uid) => byUid.get(uid)!);
  const acceptableUids = new Set(acceptable.map((c) => c.pod.uid));
  const wanted = Math.min(wholeCount(input.count), acceptable.length);
  const current = unique(input.currentLeaders);
  const incumbents = input.sticky ? current.filter((uid) => acceptableUids.has(uid)) : [];

  const picks = pickByPriority(acceptable, incumbents.map((uid) => byUid.get(uid)!), wanted);
  const leaders = input.sticky ? keepPositions(current, picks) : picks;
  const wasLeader = new Set(current);
  const isLeader = new Set(leaders);
  return {
    leaders,
    kept: leaders.filter((uid) => wasLeader.has(uid)),
    added: leaders.filter((uid) => !wasLeader.has(uid)),
    dropped: current.filter((uid) => !isLeader.has(uid)),
  };
}

/** Chooses `wanted` pods: priority groups high to low; in each, incumbents first, then spread-aware ranking. */
function pickByPriority(
  acceptable: readonly Candidate[],
  incumbents: readonly Candidate[],
  wanted: number,
): string[] {
  const picks: string[] = [];
  const used = new UsedDomains();
  const priorities = [...new Set(acceptable.map((c) => c.priority))].sort((a, b) => b - a);
  for (const priority of priorities) {
    if (picks.length >= wanted) break;
    const staying = incumbents.filter((c) => c.priority === priority).slice(0, wanted - picks.length);
    for (const c of staying) {
      picks.push(c.pod.uid);
      used.add(c);
    }
    const stayingSet = new Set(staying);
    // Still in ranked order, which breaks every tie of the spreading.
    const rest = acceptable.filter((c) => c.priority === priority && !stayingSet.has(c));
    for (const c of spreadPicks(rest, used, wanted - picks.length)) picks.push(c.pod.uid);
  }
  return picks;
}

/**
 * Sticky order: kept leaders keep their relative order and move up over freed slots, newcomers follow. When a
 * pool's primary is lost, the surviving member that already serves becomes primary, not a newcomer.
 */
function keepPositions(current: readonly string[], picks: readonly string[]): string[] {
  const picked = new Set(picks);
  const was = new Set(current);
  return [...current.filter((uid) => picked.has(uid)), ...picks.filter((uid) => !was.has(uid))];
}

function unique(uids: readonly string[]): string[] {
  return [...new Set(uids)];
}

/** A count that is not a whole positive number asks for no leaders rather than throwing in the hot path. */
function wholeCount(count: number): number {
  return Number.isFinite(count) ? Math.max(0, Math.floor(count)) : 0;
}
