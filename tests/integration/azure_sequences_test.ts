/**
 * Property: random operation sequences under faults on every write route and restarts, over the real HTTP
 * stack against the ARM emulator: nothing lost, nothing leaked, everything settled, no invariant broken.
 * CI runs AZURE_SEQUENCES (default 300); `deno task bench:azure` runs thousands and prints the figures.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { addOutcome, emptyTotals, runMany, sequenceArb } from "./azure_sequences.ts";

const COUNT = Number(Deno.env.get("AZURE_SEQUENCES") ?? 300);
const SEED = Number(Deno.env.get("AZURE_SEED") ?? 13);

Deno.test(`engine (property, HTTP): ${COUNT} sequences with faults on every write route and restarts`, async () => {
  const seqs = fc.sample(sequenceArb, { numRuns: COUNT, seed: SEED });
  const totals = emptyTotals();
  await runMany(seqs, 4, (seq, outcome) => addOutcome(totals, seq, outcome));
  const { failures, ...figures } = totals;
  console.log(JSON.stringify(figures));
  for (const f of failures.slice(0, 3)) console.log("FAILED", JSON.stringify(f));
  assert.equal(totals.sequences, COUNT);
  assert.ok(totals.removalFaults > 0, "faults reached the removal path");
  assert.ok(totals.restarts > 0);
  assert.deepEqual(
    { lost: totals.lost, leaked: totals.leaked, unsettled: totals.unsettled, guard: totals.guard },
    { lost: 0, leaked: 0, unsettled: 0, guard: 0 },
  );
});
