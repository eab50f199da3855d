import assert from "node:assert/strict";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { flushMicrotasks, ManualClock } from "../_clock.ts";
import { type WorkHandler, WorkQueue } from "../../core/queue/workqueue.ts";
import { testQueueOptions } from "./_queue_fixtures.ts";

/** A handler whose runs stay open until the test settles them. */
class ControlledHandler {
  readonly started: string[] = [];
  private readonly pending = new Map<string, PromiseWithResolvers<void>[]>();
  running = 0;
  maxRunning = 0;
  readonly maxRunningPerKey = new Map<string, number>();
  private readonly perKey = new Map<string, number>();

  handler: WorkHandler = (key) => {
    this.started.push(key);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const n = (this.perKey.get(key) ?? 0) + 1;
    this.perKey.set(key, n);
    this.maxRunningPerKey.set(key, Math.max(this.maxRunningPerKey.get(key) ?? 0, n));
    const d = Promise.withResolvers<void>();
    this.pending.set(key, [...(this.pending.get(key) ?? []), d]);
    return d.promise.finally(() => {
      this.running--;
      this.perKey.set(key, this.perKey.get(key)! - 1);
    });
  };

  async finish(key: string, error?: Error): Promise<void> {
    const list = this.pending.get(key);
    const d = list?.shift();
    assert.ok(d, `no run of ${key} is pending`);
    if (error) d.reject(error);
    else d.resolve();
    await flushMicrotasks();
  }
}

function makeQueue(
  handler: WorkHandler,
  workers = 1,
  clock = new ManualClock(),
  metrics = new MetricsRegistry(),
) {
  const queue = new WorkQueue(testQueueOptions("test", workers, handler, clock, metrics));
  return { queue, clock, metrics };
}

Deno.test("a key added several times before it runs is run once", async () => {
  const h = new ControlledHandler();
  const { queue, metrics } = makeQueue(h.handler);
  queue.add("ns/blocker");
  queue.add("ns/a");
  queue.add("ns/a");
  queue.add("ns/a");
  assert.equal(queue.stats().depth, 1);
  assert.equal(
    metrics.gauge({ name: "zen_lead_workqueue_depth", help: "", labelNames: ["name"] }).get({ name: "test" }),
    1,
  );
  await h.finish("ns/blocker");
  await h.finish("ns/a");
  assert.deepEqual(h.started, ["ns/blocker", "ns/a"]);
  assert.equal(
    metrics.counter({ name: "zen_lead_workqueue_adds_total", help: "", labelNames: ["name"] }).get({
      name: "test",
    }),
    4,
  );
});

Deno.test("a key added while it runs is not run concurrently but runs once more afterwards", async () => {
  const h = new ControlledHandler();
  const { queue } = makeQueue(h.handler, 4);
  queue.add("k");
  await flushMicrotasks();
  queue.add("k");
  queue.add("k");
  await flushMicrotasks();
  assert.deepEqual(h.started, ["k"], "the second add waits for the first run");
  await h.finish("k");
  assert.deepEqual(h.started, ["k", "k"]);
  await h.finish("k");
  assert.deepEqual(h.started, ["k", "k"], "no third run: the two adds during the run were merged");
  assert.equal(h.maxRunningPerKey.get("k"), 1);
});

Deno.test("workers bounds concurrency and can be raised and lowered at run time", async () => {
  const h = new ControlledHandler();
  const { queue } = makeQueue(h.handler, 2);
  for (const k of ["a", "b", "c", "d", "e"]) queue.add(k);
  await flushMicrotasks();
  assert.deepEqual(h.started, ["a", "b"]);
  queue.setWorkers(4);
  await flushMicrotasks();
  assert.deepEqual(h.started, ["a", "b", "c", "d"]);
  queue.setWorkers(1);
  await h.finish("a");
  await h.finish("b");
  await h.finish("c");
  assert.deepEqual(h.started, ["a", "b", "c", "d"], "with 1 worker and d still running, e waits");
  await h.finish("d");
  assert.deepEqual(h.started, ["a", "b", "c", "d", "e"]);
  assert.equal(h.maxRunning, 4);
  assert.throws(() => queue.setWorkers(0), /work queue workers: expected an integer >= 1, received 0/);
});

Deno.test("a failing key backs off exponentially and its backoff resets after a success", async () => {
  const h = new ControlledHandler();
  const { queue, clock, metrics } = makeQueue(h.handler);
  queue.add("k");
  await h.finish("k", new Error("boom"));
  assert.equal(queue.failureCount("k"), 1);
  assert.deepEqual(queue.stats(), { depth: 0, processing: 0, waiting: 1 });
  await clock.advance(99);
  assert.equal(h.started.length, 1, "not before 100 ms");
  await clock.advance(1);
  assert.equal(h.started.length, 2);
  await h.finish("k", new Error("boom"));
  await clock.advance(199);
  assert.equal(h.started.length, 2, "second retry waits 200 ms");
  await clock.advance(1);
  assert.equal(h.started.length, 3);
  await h.finish("k");
  assert.equal(queue.failureCount("k"), 0, "success resets the failure count");
  queue.add("k");
  await h.finish("k", new Error("boom again"));
  await clock.advance(100);
  assert.equal(h.started.length, 5, "after a success the next failure waits the base delay again");
  assert.equal(
    metrics.counter({ name: "zen_lead_workqueue_retries_total", help: "", labelNames: ["name"] }).get({
      name: "test",
    }),
    3,
  );
});

Deno.test("the handler sees how many times the key failed before", async () => {
  const seen: number[] = [];
  let fail = 2;
  const clock = new ManualClock();
  const { queue } = makeQueue(
    (_key, ctx) => {
      seen.push(ctx.failures);
      return fail-- > 0 ? Promise.reject(new Error("x")) : Promise.resolve();
    },
    1,
    clock,
  );
  queue.add("k");
  await clock.advance(10_000);
  assert.deepEqual(seen, [0, 1, 2]);
});

Deno.test("addAfter keeps the earliest due time", async () => {
  const h = new ControlledHandler();
  const { queue, clock } = makeQueue(h.handler);
  queue.addAfter("k", 500);
  queue.addAfter("k", 900);
  queue.addAfter("k", 300);
  await clock.advance(299);
  assert.equal(h.started.length, 0);
  await clock.advance(1);
  assert.deepEqual(h.started, ["k"]);
  await h.finish("k");
  await clock.advance(1000);
  assert.deepEqual(h.started, ["k"], "the later due times were dropped, not kept as extra runs");
});

Deno.test("a handler's requeueAfterMs schedules the key again", async () => {
  const runs: number[] = [];
  const clock = new ManualClock();
  const { queue } = makeQueue(
    () => {
      runs.push(clock.now());
      return Promise.resolve(runs.length < 3 ? { requeueAfterMs: 250 } : undefined);
    },
    1,
    clock,
  );
  queue.add("k");
  await clock.advance(2000);
  assert.deepEqual(runs, [0, 250, 500]);
});

Deno.test("shutdown stops intake, drops queued keys and waits for running handlers", async () => {
  const h = new ControlledHandler();
  const { queue, clock } = makeQueue(h.handler);
  queue.add("a");
  queue.add("b");
  queue.addAfter("c", 100);
  await flushMicrotasks();
  const done = queue.shutdown(5000);
  queue.add("d");
  await h.finish("a");
  assert.equal(await done, true);
  await clock.advance(1000);
  assert.deepEqual(h.started, ["a"], "b (queued), c (delayed) and d (after shutdown) never ran");
});

Deno.test("shutdown gives up after the grace period and aborts the running handler's signal", async () => {
  const clock = new ManualClock();
  let signal: AbortSignal | undefined;
  const { queue } = makeQueue(
    (_k, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    },
    1,
    clock,
  );
  queue.add("stuck");
  await flushMicrotasks();
  let result: boolean | undefined;
  queue.shutdown(1000).then((r) => result = r);
  await clock.advance(999);
  assert.equal(result, undefined);
  await clock.advance(1);
  assert.equal(result, false);
  assert.equal(signal?.aborted, true);
});

Deno.test("a failure during shutdown is not retried", async () => {
  const h = new ControlledHandler();
  const { queue, clock } = makeQueue(h.handler);
  queue.add("k");
  await flushMicrotasks();
  const done = queue.shutdown(5000);
  await h.finish("k", new Error("boom"));
  assert.equal(await done, true);
  await clock.advance(10_000);
  assert.equal(h.started.length, 1);
  assert.equal(queue.stats().waiting, 0);
});
