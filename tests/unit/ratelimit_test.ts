import assert from "node:assert/strict";
import { TokenBucket } from "../../core/time/rate_limit.ts";
import { flushMicrotasks, ManualClock } from "../_clock.ts";

Deno.test("the bucket allows a burst, then refills at qps", async () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(10, 3, clock);
  assert.deepEqual([1, 2, 3, 4].map(() => bucket.tryTake()), [true, true, true, false]);
  await clock.advance(99);
  assert.equal(bucket.tryTake(), false);
  await clock.advance(1);
  assert.equal(bucket.tryTake(), true, "one token after 1/qps seconds");
});

Deno.test("take queues waiters in arrival order, each 1/qps apart", async () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(10, 1, clock);
  const granted: number[] = [];
  for (let i = 0; i < 4; i++) bucket.take().then(() => granted.push(clock.now()));
  await clock.advance(1000);
  assert.deepEqual(granted, [0, 100, 200, 300]);
});

Deno.test("an aborted wait returns its reserved token", async () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(1, 1, clock);
  assert.equal(bucket.tryTake(), true);
  const ac = new AbortController();
  const waiting = bucket.take(ac.signal);
  ac.abort(new Error("caller gave up"));
  await assert.rejects(waiting, /caller gave up/);
  await clock.advance(1000);
  assert.equal(
    bucket.tryTake(),
    true,
    "after 1 s the token is there: the abandoned reservation was returned",
  );
});

Deno.test("setRate changes the rate at run time and clamps saved tokens to the new burst", async () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(1, 10, clock);
  bucket.setRate(100, 2);
  assert.deepEqual(bucket.rate, { qps: 100, burst: 2 });
  assert.deepEqual([1, 2, 3].map(() => bucket.tryTake()), [true, true, false]);
  await clock.advance(10);
  assert.equal(bucket.tryTake(), true, "refills at the new qps");
  bucket.setRate(0, 0);
  assert.ok(Array.from({ length: 1000 }, () => bucket.tryTake()).every(Boolean), "qps 0 means unlimited");
  assert.equal(await bucket.take(), 0);
  await flushMicrotasks();
});

Deno.test("invalid rates are rejected with what was received", () => {
  assert.throws(() => new TokenBucket(10, 0), /burst: expected an integer >= 1 when qps > 0, received 0/);
  assert.throws(() => new TokenBucket(NaN, 1), /qps: expected a finite number, received NaN/);
});
