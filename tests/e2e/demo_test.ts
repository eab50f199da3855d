/** The README's first command works: `deno task demo` (here with `--once`) elects, fails over and reports it. */
import assert from "node:assert/strict";
import { runDemo } from "./_demo.ts";

Deno.test("deno task demo --once: prints the leader, fails it, prints the new leader and the failover time", async () => {
  const text = await runDemo("--once");
  const leader = /\[demo\] leader: pod (\S+)/.exec(text)?.[1];
  const next = /\[demo\] new leader: pod (\S+)/.exec(text)?.[1];
  const ms = Number(/\[demo\] failover: ([\d.]+) ms/.exec(text)?.[1]);
  assert.ok(leader && next && leader !== next, text);
  assert.ok(Number.isFinite(ms) && ms >= 0, text);
  // The explain output of the failed-over Service, and the status page's address.
  assert.match(text, new RegExp(`^\\[demo\\] +${leader} +Running +False .* not eligible: notReady$`, "m"));
  assert.match(text, new RegExp(`^\\[demo\\] +${next} +Running +True .* leader, kept$`, "m"));
  assert.match(text, /^\[demo\] status page: http:\/\/127\.0\.0\.1:\d+\/ /m);
  console.log(text.split("\n").filter((l) => l.includes("failover:")).join("\n"));
});
