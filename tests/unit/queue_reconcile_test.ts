import assert from "node:assert/strict";
import { RootLogger } from "../../core/log.ts";
import {
  type ErrorOutcome,
  reconcileHandler,
  type ReconcileWrapperOptions,
} from "../../core/queue/reconcile.ts";

class Terminal extends Error {}
const held: string[] = [];
class Expected extends Error {}

function harness(reconcile: ReconcileWrapperOptions["reconcile"]) {
  const lines: Record<string, unknown>[] = [];
  const results: string[] = [];
  const durations: number[] = [];
  const succeeded: string[] = [];
  const handler = reconcileHandler({
    reconcile,
    logger: new RootLogger("info", (l) => lines.push(JSON.parse(l))),
    metrics: {
      reconciliations: { inc: (l) => results.push(l.result) },
      reconcileDuration: { observe: (_l, s) => durations.push(s) },
    },
    classify: (e, key): ErrorOutcome | undefined =>
      e instanceof Terminal
        ? { result: "skipped", retry: false, then: () => held.push(key) }
        : e instanceof Expected
        ? { result: "conflict", retry: true, note: { message: "expected", fields: { object: "o" } } }
        : undefined,
    onSuccess: (key) => succeeded.push(key),
  });
  const run = (key: string) => handler(key, { signal: new AbortController().signal, failures: 0 });
  return { run, lines, results, durations, succeeded };
}

Deno.test("reconcile wrapper: a success is counted, timed, announced, and its requeue passed to the queue", async () => {
  let seen: { id: string } | undefined;
  const h = harness((_key, run) => {
    run.log.info("inside");
    seen = { id: run.reconcileID };
    return Promise.resolve({ requeueAfterMs: 250 });
  });
  assert.deepEqual(await h.run("ns/a"), { requeueAfterMs: 250 });
  assert.deepEqual(h.results, ["success"]);
  assert.deepEqual(h.succeeded, ["ns/a"]);
  assert.equal(h.durations.length, 1);
  assert.equal(h.lines[0].reconcileID, seen?.id, "the reconcile's log lines carry its ID");
  assert.equal(h.lines[0].key, "ns/a");
  assert.match(String(seen?.id), /^[0-9a-f]{8}$/);
});

Deno.test("reconcile wrapper: no requeue asked, none given", async () => {
  assert.equal(await harness(() => Promise.resolve({})).run("ns/a"), undefined);
});

Deno.test("reconcile wrapper: a terminal error is counted under its result and not retried", async () => {
  const h = harness(() => Promise.reject(new Terminal("stop")));
  assert.equal(await h.run("ns/a"), undefined);
  assert.deepEqual(h.results, ["skipped"]);
  assert.deepEqual(held, ["ns/a"], "its follow-up ran with the key");
  assert.deepEqual(h.lines, [], "a terminal error is not a failure to log");
  assert.deepEqual(h.succeeded, []);
});

Deno.test("reconcile wrapper: an expected error is noted at info and retried; a failure logged as an error", async () => {
  const expected = harness(() => Promise.reject(new Expected("409")));
  await assert.rejects(expected.run("ns/a"), Expected);
  assert.deepEqual(expected.results, ["conflict"]);
  assert.deepEqual(
    expected.lines.map((l) => [l.level, l.msg, l.key, l.object]),
    [["info", "expected", "ns/a", "o"]],
  );
  const failure = harness(() => Promise.reject(new Error("boom")));
  await assert.rejects(failure.run("ns/b"), /boom/);
  assert.deepEqual(failure.results, ["error"]);
  assert.deepEqual(failure.lines.map((l) => [l.level, l.msg]), [["error", "reconcile failed"]]);
  assert.equal(failure.durations.length, 1, "a failed reconcile is timed too");
});
