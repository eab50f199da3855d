/**
 * `deno task fuzz`: the issue-11 property tests at 10,000 inputs per parser (annotations, config.yaml, flags),
 * printing inputs, crashes and the slowest input of each; exits non-zero on any crash. `--runs=N` and
 * `--seed=S` change the count and make a run repeatable.
 */
import { fuzzAnnotations, fuzzConfig, type FuzzFigures, fuzzFlags } from "../tests/fuzz/properties.ts";

const arg = (name: string) => Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg("runs") ?? 10_000);
const seed = arg("seed") === undefined ? Date.now() % 2 ** 31 : Number(arg("seed"));
if (!Number.isInteger(runs) || runs < 1) {
  throw new Error(`--runs: expected a whole number >= 1, received ${arg("runs")}`);
}

console.log(`[fuzz] ${runs} inputs per parser, seed ${seed}`);
const all: FuzzFigures[] = [];
for (const fuzz of [fuzzAnnotations, fuzzConfig, fuzzFlags]) {
  const t0 = performance.now();
  const f = await fuzz(runs, seed);
  all.push(f);
  console.log(
    `[fuzz] ${f.target}: ${f.inputs} inputs, ${f.crashes} crashes, slowest input ${f.slowestMs} ms, ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s in all`,
  );
  console.log(`[fuzz]   slowest: ${f.slowestInput}`);
  if (f.failure) console.log(`[fuzz]   FAILURE: ${f.failure}`);
}
Deno.exit(all.some((f) => f.crashes > 0) ? 1 : 0);
