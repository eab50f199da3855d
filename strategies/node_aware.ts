/**
 * `node-aware`: leaders run on healthy nodes. A pod whose node is NotReady or Unknown is never ranked, even while
 * the pod still reads Ready (its kubelet cannot report otherwise). Among the rest: healthy nodes before cordoned
 * or tainted ones before nodes not yet observed, then the preferred node label, then the preferred zone, then
 * the base age order; pool members are spread over distinct nodes and zones within each of those tiers.
 */
import { type Candidate, defineStrategy, spreadPicks, type StrategyInput, UsedDomains } from "../mod.ts";
import { type NodeStanding, nodeStanding, STANDING_TIER } from "./node_standing.ts";
import { type NodeAwareOptions, nodeAwareOptionsSchema } from "./node_aware_options.ts";
import { compareByAge } from "./order.ts";

interface Placed {
  candidate: Candidate;
  tier: number;
}

function isAcceptable(
  placed: { candidate: Candidate; standing: NodeStanding },
): placed is { candidate: Candidate; standing: Exclude<NodeStanding, "unreachable"> } {
  return placed.standing !== "unreachable";
}

/** Ranks candidates for `options` (already merged over the plugin-level defaults). */
export function rankNodeAware(candidates: readonly Candidate[], options: NodeAwareOptions): string[] {
  const byAge = compareByAge(options.order ?? "oldest");
  const label = options.preferredNodeLabel;
  const zone = options.preferredZone;
  // 0 when the candidate meets the preference (or none is set), 1 otherwise.
  const labelMiss = (c: Candidate) => label && c.node?.labels[label.key] !== label.value ? 1 : 0;
  const zoneMiss = (c: Candidate) => zone !== undefined && c.node?.zone !== zone ? 1 : 0;

  const placed: Placed[] = candidates
    .map((candidate) => ({ candidate, standing: nodeStanding(candidate) }))
    .filter(isAcceptable)
    .map(({ candidate, standing }) => ({ candidate, tier: STANDING_TIER[standing] }));
  const tierOf = new Map(
    placed.map((p) => [p.candidate, p.tier * 4 + labelMiss(p.candidate) * 2 + zoneMiss(p.candidate)]),
  );
  const ordered = placed.map((p) => p.candidate).sort((a, b) =>
    tierOf.get(a)! - tierOf.get(b)! || byAge(a, b)
  );
  // Spread inside each tier only, so spreading never puts a worse node before a better one.
  const used = new UsedDomains();
  const ranked: string[] = [];
  for (const tier of [...new Set(tierOf.values())].sort((a, b) => a - b)) {
    const members = ordered.filter((c) => tierOf.get(c) === tier);
    for (const c of spreadPicks(members, used, members.length)) ranked.push(c.pod.uid);
  }
  return ranked;
}

export default defineStrategy({
  name: "node-aware",
  version: "1.0.0",
  description:
    "Prefers pods on Ready, schedulable, untainted nodes; never ranks pods on NotReady/Unknown nodes.",
  options: nodeAwareOptionsSchema,
  setup: (ctx) => ({
    needsNodes: true,
    optionsSchema: nodeAwareOptionsSchema,
    rank: (input: StrategyInput<NodeAwareOptions>) =>
      rankNodeAware(input.candidates, { ...ctx.options, ...defined(input.options) }),
  }),
});

/** The fields of `options` that are set, so an unset per-Service field keeps the plugin-level value. */
function defined(options: NodeAwareOptions | undefined): NodeAwareOptions {
  return Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined));
}
