/** Probe thresholds: a verdict flips only after a full run of the opposite result. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type ProbeRole, type ProbeState, recordResult, UNPROBED } from "../../core/probing/threshold.ts";

const run = (
  results: readonly boolean[],
  role: ProbeRole,
  failureThreshold: number,
  successThreshold: number,
) => {
  const states: ProbeState[] = [];
  let s = UNPROBED;
  results.forEach((healthy, i) => {
    s = recordResult(s, { healthy, reason: healthy ? "ok" : "fail" }, i, role, {
      failureThreshold,
      successThreshold,
    });
    states.push(s);
  });
  return states;
};

Deno.test("counters, reason and time follow each result", () => {
  const [a, b, c] = run([false, false, true], "leader", 3, 1);
  assert.deepEqual(a, {
    healthy: undefined,
    consecutiveFailures: 1,
    consecutiveSuccesses: 0,
    lastReason: "fail",
    lastCheckedAt: 0,
  });
  assert.equal(b.consecutiveFailures, 2);
  assert.deepEqual(c, {
    healthy: true,
    consecutiveFailures: 0,
    consecutiveSuccesses: 1,
    lastReason: "ok",
    lastCheckedAt: 2,
  });
});

Deno.test("property: a decided verdict flips only after a full run of the opposite result", () => {
  fc.assert(
    fc.property(
      fc.array(fc.boolean(), { maxLength: 60 }),
      fc.constantFrom<ProbeRole>("leader", "candidate"),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      (results, role, ft, st) => {
        const states = run(results, role, ft, st);
        for (let i = 1; i < states.length; i++) {
          const [prev, cur] = [states[i - 1], states[i]];
          if (prev.healthy === undefined || prev.healthy === cur.healthy) continue;
          if (cur.healthy === false) assert.equal(cur.consecutiveFailures, ft);
          else assert.equal(cur.consecutiveSuccesses, st);
        }
        // Once decided, a verdict is never undone to "undecided".
        const firstDecided = states.findIndex((s) => s.healthy !== undefined);
        if (firstDecided >= 0) assert.ok(states.slice(firstDecided).every((s) => s.healthy !== undefined));
      },
    ),
  );
});

Deno.test("property: strictly alternating results never flip a decided verdict when both thresholds > 1", () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.integer({ min: 2, max: 60 }),
      fc.constantFrom<ProbeRole>("leader", "candidate"),
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 2, max: 5 }),
      (first, n, role, ft, st) => {
        const results = Array.from({ length: n }, (_, i) => (i % 2 === 0) === first);
        const decided = run(results, role, ft, st).map((s) => s.healthy).filter((h) => h !== undefined);
        assert.ok(decided.every((h) => h === decided[0]));
      },
    ),
  );
});

Deno.test("an undecided pod is presumed by its role", () => {
  // Leader: one success confirms, failureThreshold failures condemn.
  assert.equal(run([true], "leader", 3, 2)[0].healthy, true);
  assert.deepEqual(run([false, false, false], "leader", 3, 2).map((s) => s.healthy), [
    undefined,
    undefined,
    false,
  ]);
  // Candidate: one failure rules out, successThreshold successes clear.
  assert.equal(run([false], "candidate", 3, 2)[0].healthy, false);
  assert.deepEqual(run([true, true], "candidate", 3, 2).map((s) => s.healthy), [undefined, true]);
});
