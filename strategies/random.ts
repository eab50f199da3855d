/**
 * `random`: a seeded draw. The seed is recorded on the leader Service, so a controller restart redraws the same
 * order; rendezvous hashing keeps each pod's place independent of which other pods exist.
 */
import { defineStrategy } from "../mod.ts";
import { rendezvousWeight } from "./hash.ts";

export default defineStrategy({
  name: "random",
  version: "1.0.0",
  description: "Seeded rendezvous hashing of pod UIDs: stable across restarts and unrelated pod changes.",
  setup: () => ({
    rank: ({ candidates, seed }) =>
      candidates
        .map((c) => ({ uid: c.pod.uid, weight: rendezvousWeight(seed, c.pod.uid) }))
        // Heaviest first; the UID breaks the (rare) tie so the order stays total.
        .sort((a, b) => b.weight - a.weight || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0))
        .map((w) => w.uid),
  }),
});
