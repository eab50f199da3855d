import assert from "node:assert/strict";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { flushMicrotasks, ManualClock } from "../_clock.ts";
import { type WorkHandler, WorkQueue } from "../../core/queue/workqueue.ts";
import { testQueueOptions } from "./_queue_fixtures.ts";

function queue(handler: WorkHandler, extra: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}) {
  const clock = new ManualClock();
  const metrics = new MetricsRegistry();
  const q = new WorkQueue({
    ...testQueueOptions("t", 2, handler, clock, metrics),
    deadLetterAfter: 3,
    deadLetterRetryMs: 60_000,
    ...extra,
  });
  const parked = () =>
    metrics.gauge({ name: "zen_lead_workqueue_dead_letters", help: "", labelNames: ["name"] }).get({
      name: "t",
    });
  return { q, clock, parked };
}

Deno.test("a key that keeps failing is parked after N attempts, retried only on the slow cadence, and unparked by success", async () => {
  let runs = 0;
  let fail = true;
  const parkedKeys: string[] = [];
  const { q, clock, parked } = queue(() => {
    runs++;
    return fail ? Promise.reject(new Error("webhook says no")) : Promise.resolve();
  }, { onDeadLetter: (key) => parkedKeys.push(key) });
  q.add("ns/bad");
  await flushMicrotasks();
  await clock.advance(100);
  await clock.advance(200);
  assert.equal(runs, 3);
  assert.deepEqual(parkedKeys, ["ns/bad"], "told once, when parked");
  assert.equal(parked(), 1);
  assert.deepEqual(q.deadLetters().map((d) => [d.key, d.failures, d.lastError]), [[
    "ns/bad",
    3,
    "webhook says no",
  ]]);
  q.add("ns/bad"); // an event for the parked key does not bring it back early
  await clock.advance(59_000);
  assert.equal(runs, 3, "no run before the slow cadence");
  await clock.advance(1_000);
  assert.equal(runs, 4, "tried again after 60 s");
  assert.deepEqual(parkedKeys, ["ns/bad"], "not announced again");
  fail = false;
  await clock.advance(60_000);
  assert.equal(runs, 5);
  assert.equal(parked(), 0, "a success takes it out of the set");
  assert.deepEqual(q.deadLetters(), []);
});

Deno.test("unpark gives a parked key a prompt try again", async () => {
  let runs = 0;
  const { q, clock } = queue(() => {
    runs++;
    return Promise.reject(new Error("x"));
  });
  q.add("ns/k");
  await flushMicrotasks();
  await clock.advance(300);
  assert.equal(runs, 3);
  q.unpark("ns/k");
  q.add("ns/k");
  await flushMicrotasks();
  assert.equal(runs, 4);
});

Deno.test("one namespace's retries cannot hold every worker: the retry budget lets other namespaces run", async () => {
  const started: string[] = [];
  const held: PromiseWithResolvers<void>[] = [];
  const runs = new Map<string, number>();
  const { q, clock } = queue((key) => {
    started.push(key);
    const n = (runs.get(key) ?? 0) + 1;
    runs.set(key, n);
    if (!key.startsWith("noisy/")) return Promise.resolve();
    if (n === 1) return Promise.reject(new Error("first try fails")); // from now on its runs are retries
    const d = Promise.withResolvers<void>();
    held.push(d);
    return d.promise; // a slow retry that holds a worker
  }, { namespaceRetryBudget: 1, deadLetterAfter: 100 });
  q.add("noisy/a");
  q.add("noisy/b");
  await flushMicrotasks();
  assert.deepEqual(started, ["noisy/a", "noisy/b"], "first tries run on both workers");
  await clock.advance(100); // both retries are due now
  q.add("quiet/c");
  await flushMicrotasks();
  assert.deepEqual(
    started.slice(2),
    ["noisy/a", "quiet/c"],
    "one noisy retry runs; the second waits behind quiet/c instead of taking the last worker",
  );
  held[0].resolve();
  await flushMicrotasks();
  assert.deepEqual(started.slice(4), ["noisy/b"], "the waiting retry runs once its namespace's budget frees");
});

Deno.test("failures that are not the key's fault (an outage) never park it; unparkAll runs parked keys now", async () => {
  let runs = 0;
  let outage = true;
  const { q, clock, parked } = queue(() => {
    runs++;
    return Promise.reject(new Error(outage ? "ECONNREFUSED" : "admission webhook denied"));
  }, { countsTowardDeadLetter: (e) => !(e as Error).message.includes("ECONNREFUSED") });
  q.add("ns/k");
  await flushMicrotasks();
  for (let i = 0; i < 6; i++) await clock.advance(1000);
  assert.ok(runs >= 6, `kept retrying with backoff through the outage (${runs} runs)`);
  assert.equal(parked(), 0, "not parked for an outage");
  outage = false;
  for (let i = 0; i < 3; i++) await clock.advance(1000);
  assert.equal(parked(), 1, "three failures of its own park it");
  const before = runs;
  q.unparkAll();
  await flushMicrotasks();
  assert.equal(runs, before + 1);
});
