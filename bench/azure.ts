/**
 * `deno task bench:azure [--sequences N] [--concurrency K] [--seed S]`: random operation sequences against the
 * azure-servicegateway engine over the real HTTP stack and the ARM emulator, under applied-then-error, hung,
 * late-applied and failed writes on every route and response mode, with restarts. Prints the figures (the
 * plugin's README quotes them), writes bench/results/azure.json, and exits 1 on any lost, leaked, unsettled or
 * guard-breaking sequence (printing it for replay).
 */
import { parseArgs } from "node:util";
import fc from "fast-check";
import { RESPONSE_MODES } from "../tests/emulators/arm/emulator.ts";
import {
  addOutcome,
  emptyTotals,
  runMany,
  sequenceArb,
  type Totals,
} from "../tests/integration/azure_sequences.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sequences: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "6" },
    seed: { type: "string", default: "2026" },
  },
});
const count = Number(values.sequences);
const concurrency = Number(values.concurrency);
const seed = Number(values.seed);
if (![count, concurrency, seed].every(Number.isInteger) || count < 1 || concurrency < 1) {
  console.error("bench:azure: --sequences and --concurrency take positive integers, --seed an integer");
  Deno.exit(2);
}

const seqs = fc.sample(sequenceArb, { numRuns: count, seed });
const totals = emptyTotals();
const byMode = new Map(RESPONSE_MODES.map((m) => [m, emptyTotals()]));
const t0 = performance.now();
let done = 0;
await runMany(seqs, concurrency, (seq, outcome) => {
  addOutcome(totals, seq, outcome);
  addOutcome(byMode.get(seq.mode)!, seq, outcome);
  if (++done % 250 === 0) {
    console.log(
      `[bench:azure] ${done}/${count} sequences, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
});
const seconds = (performance.now() - t0) / 1000;

const row = (name: string, t: Totals) =>
  `| ${name.padEnd(12)} | ${
    [
      t.sequences,
      t.faults,
      t.faultsHit,
      t.removalFaults,
      t.restarts,
      t.requests,
      t.lost,
      t.leaked,
      t.unsettled,
      t.guard,
    ]
      .map((n) => String(n).padStart(8)).join(" | ")
  } |`;
console.log(`\nazure engine sequences (seed ${seed}, ${seconds.toFixed(0)} s, concurrency ${concurrency})\n`);
console.log(
  "| mode         | seqs     | faults   | hit      | removal  | restarts | requests | lost     | leaked   | unsettl. | guard    |",
);
console.log(
  "| ------------ | -------- | -------- | -------- | -------- | -------- | -------- | -------- | -------- | -------- | -------- |",
);
for (const [mode, t] of byMode) console.log(row(mode, t));
console.log(row("all", totals));

// Which faults hit which route: "removal" counts the writes that removed addresses, a service or a resource.
const kinds = ["applyThenError", "hang", "applyLater", "error", "pollFailed"];
const routes = [...new Set(Object.keys(totals.hitsByRoute).map((k) => k.split(" ")[0]))].sort();
console.log(`\nfault hits by route (all / of them on removal writes)\n`);
console.log(`| route                  | ${kinds.map((k) => k.padEnd(14)).join(" | ")} |`);
console.log(`| ---------------------- | ${kinds.map(() => "-".repeat(14)).join(" | ")} |`);
for (const r of routes) {
  const cell = (k: string) =>
    `${totals.hitsByRoute[`${r} ${k}`] ?? 0} / ${totals.hitsByRoute[`${r} ${k} removal`] ?? 0}`.padEnd(14);
  console.log(`| ${r.padEnd(22)} | ${kinds.map(cell).join(" | ")} |`);
}

const { failures, ...figures } = totals;
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/azure.json", import.meta.url),
  JSON.stringify(
    { seed, seconds: Math.round(seconds), ...figures, failures: failures.slice(0, 20) },
    null,
    2,
  ) + "\n",
);
for (const f of failures.slice(0, 5)) console.log("FAILED", JSON.stringify(f));
if (failures.length > 0) Deno.exit(1);
