/**
 * Property tests of the annotation, ConfigMap and flag parsers over hostile inputs: 1,000 inputs each
 * here, 10,000 in `deno task fuzz`. See tests/fuzz/properties.ts for what every input must satisfy.
 */
import assert from "node:assert/strict";
import { fuzzAnnotations, fuzzConfig, type FuzzFigures, fuzzFlags } from "../fuzz/properties.ts";

const RUNS = Number(Deno.env.get("ZEN_LEAD_FUZZ_RUNS") ?? 1000);

function check(f: FuzzFigures): void {
  console.log(
    `${f.target}: ${f.inputs} inputs, ${f.crashes} crashes, slowest ${f.slowestMs} ms (${f.slowestInput})`,
  );
  assert.equal(f.crashes, 0, f.failure ?? "");
  assert.ok(f.inputs >= RUNS);
}

Deno.test("fuzz: annotations never throw, never touch Object.prototype, and every refusal names its annotation", async () => {
  check(await fuzzAnnotations(RUNS));
});

Deno.test("fuzz: config.yaml never throws (aliases, tags, nesting, NaN/Infinity) and every refusal names its field", async () => {
  check(await fuzzConfig(RUNS));
});

Deno.test("fuzz: flags throw only FlagError naming the flag, and accept only in-range numbers", async () => {
  check(await fuzzFlags(RUNS));
});
