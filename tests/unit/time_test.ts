/** The one clock, sleep, backoff, Retry-After parser (core/time/) and the tests' manual clock. */
import assert from "node:assert/strict";
import { backoffDelay } from "../../core/time/backoff.ts";
import { parseRetryAfter } from "../../core/time/retry_after.ts";
import { sleep } from "../../core/time/sleep.ts";
import { ManualClock } from "../_clock.ts";

Deno.test("backoffDelay doubles from the base, caps at the max, and adds bounded jitter", () => {
  const p = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, p, () => 0)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoffDelay(2, p, () => 0.5), 250);
  assert.equal(backoffDelay(4, p, () => 0.99), 1000, "jitter never exceeds the max");
});

Deno.test("backoffDelay: jitter either way, above the max only when asked", () => {
  const both = { baseMs: 1000, maxMs: 30_000, jitter: 0.2, jitterBelow: 0.2, jitterAboveMax: true };
  assert.equal(backoffDelay(1, both, () => 0), 800, "-20 % at the bottom");
  assert.equal(backoffDelay(1, both, () => 0.5), 1000, "the middle is the delay itself");
  assert.equal(backoffDelay(6, both, () => 0.999999), 36_000, "+20 % of the cap, above it");
  assert.equal(backoffDelay(6, { ...both, jitterAboveMax: false }, () => 0.999999), 30_000);
  const below = { baseMs: 500, maxMs: 2000, jitter: 0, jitterBelow: 0.25 };
  assert.equal(backoffDelay(1, below, () => 0), 375, "up to a quarter less");
  assert.equal(backoffDelay(9, below, () => 0.999999), 2000, "never above the max");
  assert.equal(backoffDelay(3, { baseMs: 50, maxMs: 300, jitter: 0 }, () => 0.7), 200, "no jitter: exact");
  assert.equal(backoffDelay(2000, { baseMs: 0, maxMs: 300, jitter: 0 }), 0, "a huge attempt is no NaN");
});

Deno.test("retry-after: seconds and HTTP dates; malformed is ignored", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7000);
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("Tue, 31 Dec 2024 00:00:05 GMT", now), 0);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

Deno.test("retry-after without `now`: seconds only, as the API server sends them", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter(" 1.5 "), 1500);
  assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:05 GMT"), undefined);
  assert.equal(parseRetryAfter(""), undefined);
  assert.equal(parseRetryAfter("-1"), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

Deno.test("sleep resolves on the clock's time and rejects with the abort reason", async () => {
  const clock = new ManualClock();
  let done = false;
  const slept = sleep(100, undefined, clock).then(() => done = true);
  await clock.advance(99);
  assert.equal(done, false);
  await clock.advance(1);
  await slept;
  assert.equal(done, true);
  const ac = new AbortController();
  const aborted = sleep(100, ac.signal, clock);
  ac.abort(new Error("stop"));
  await assert.rejects(aborted, /stop/);
  assert.equal(clock.pending, 0, "an aborted sleep clears its timer");
  await assert.rejects(sleep(1, ac.signal, clock), /stop/, "an already aborted signal rejects at once");
});

Deno.test("manual clock: tick fires due timers in due order, ties in the order they were set", () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("b@20"), 20);
  clock.setTimeout(() => fired.push("a@10"), 10);
  clock.setTimeout(() => fired.push("c@20"), 20);
  const cleared = clock.setTimeout(() => fired.push("cleared"), 5);
  clock.clearTimeout(cleared);
  clock.setTimeout(() => {
    fired.push(`nested@${clock.now() - 1000}`);
    clock.setTimeout(() => fired.push(`inner@${clock.now() - 1000}`), 0);
  }, 15);
  clock.tick(19);
  assert.deepEqual(fired, ["a@10", "nested@15", "inner@15"]);
  assert.equal(clock.now(), 1019);
  clock.tick(1);
  assert.deepEqual(fired.slice(3), ["b@20", "c@20"]);
  assert.equal(clock.pending, 0);
});
