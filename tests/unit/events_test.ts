/**
 * Events a person can read: an unchanged Warning is written once and its count bumped at most every
 * 10 minutes; a restart continues the series instead of duplicating it; a flood of new messages is capped.
 */
import assert from "node:assert/strict";
import {
  type EventSink,
  KubeEventRecorder,
  MAX_MESSAGE,
  NEW_WARNINGS_PER_WINDOW,
  REPEAT_WINDOW_MS,
} from "../../core/controller/events.ts";
import { KubeApiError } from "../../core/kube/errors.ts";
import { RootLogger } from "../../core/log.ts";

/** An in-memory Events API: names are unique like the API server's. */
class FakeEvents implements EventSink {
  readonly stored = new Map<string, { count: number; lastTimestamp: string; message: string }>();
  creates = 0;
  patches = 0;
  create(namespace: string, event: Record<string, unknown> & { metadata: { name?: string } }) {
    const name = event.metadata.name!;
    if (this.stored.has(`${namespace}/${name}`)) {
      return Promise.reject(
        new KubeApiError({
          operation: "create",
          method: "POST",
          path: "/events",
          status: 409,
          reason: "AlreadyExists",
          serverMessage: "exists",
        }),
      );
    }
    this.creates++;
    this.stored.set(`${namespace}/${name}`, {
      count: 1,
      lastTimestamp: event.lastTimestamp as string,
      message: event.message as string,
    });
    return Promise.resolve({ metadata: { name } });
  }
  get(namespace: string, name: string) {
    return Promise.resolve(this.stored.get(`${namespace}/${name}`));
  }
  patchCount(namespace: string, name: string, count: number, lastTimestamp: string) {
    this.patches++;
    const e = this.stored.get(`${namespace}/${name}`)!;
    e.count = count;
    e.lastTimestamp = lastTimestamp;
    return Promise.resolve();
  }
}

const target = { kind: "Service", namespace: "ns", name: "web", uid: "u1" };
const settle = () => new Promise((r) => setTimeout(r, 5));

function recorder(sink: FakeEvents, clock: { t: number }, lines: string[] = []) {
  return new KubeEventRecorder(
    sink,
    new RootLogger("info", (l) => lines.push(l)),
    "zen-lead",
    "h",
    () => clock.t,
  );
}

Deno.test("an unchanged warning is written once, then its count at most every 10 minutes; logged likewise", async () => {
  const sink = new FakeEvents();
  const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
  const lines: string[] = [];
  const r = recorder(sink, clock, lines);
  for (let i = 0; i < 500; i++) {
    r.record(target, "Warning", "InvalidAnnotation", "annotation zen-lead.io/sticky: valid choices ...");
    clock.t += 1000; // a reconcile a second for 500 s
    await settle();
  }
  assert.equal(sink.creates, 1);
  assert.equal(sink.patches, 0, "no PATCH within the window");
  assert.equal(lines.length, 1, "one log line, not 500");
  clock.t += REPEAT_WINDOW_MS;
  r.record(target, "Warning", "InvalidAnnotation", "annotation zen-lead.io/sticky: valid choices ...");
  await settle();
  assert.equal(sink.patches, 1);
  assert.equal([...sink.stored.values()][0].count, 501, "the count says how often it was seen");
});

Deno.test("a restart continues the series: no duplicate Event, no write within the window", async () => {
  const sink = new FakeEvents();
  const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
  recorder(sink, clock).record(target, "Warning", "NoPodsFound", "no pods match");
  recorder(sink, clock).record(target, "Normal", "LeaderChanged", "leader is now pod a");
  await settle();
  clock.t += 60_000;
  const restarted = recorder(sink, clock);
  restarted.record(target, "Warning", "NoPodsFound", "no pods match");
  restarted.record(target, "Normal", "LeaderChanged", "leader is now pod a");
  await settle();
  assert.equal(sink.creates, 2, "the same two Events, not four");
  assert.equal(sink.patches, 1, "the Normal repeat bumps its count; the Warning waits for its window");
  const counts = [...sink.stored.values()].map((e) => e.count).sort();
  assert.deepEqual(counts, [1, 2]);
});

Deno.test("a flood of new warning messages for one object and reason is capped per window", async () => {
  const sink = new FakeEvents();
  const clock = { t: 0 };
  const r = recorder(sink, clock);
  for (let i = 0; i < 50; i++) r.record(target, "Warning", "InvalidAnnotation", `value ${i} is wrong`);
  await settle();
  assert.equal(sink.creates, NEW_WARNINGS_PER_WINDOW);
  clock.t += REPEAT_WINDOW_MS;
  r.record(target, "Warning", "InvalidAnnotation", "value 999 is wrong");
  await settle();
  assert.equal(sink.creates, NEW_WARNINGS_PER_WINDOW + 1);
});

Deno.test("messages are cut to the Event limit", async () => {
  const sink = new FakeEvents();
  recorder(sink, { t: 0 }).record(target, "Warning", "InvalidAnnotation", "x".repeat(50_000));
  await settle();
  assert.equal([...sink.stored.values()][0].message.length, MAX_MESSAGE);
});

Deno.test("log lines are bounded: an 80 KB value becomes a line of a few KB", () => {
  const lines: string[] = [];
  const log = new RootLogger("info", (l) => lines.push(l));
  log.warn("x".repeat(80_000), { value: "y".repeat(80_000), error: new Error("z".repeat(80_000)) });
  assert.equal(lines.length, 1);
  assert.ok(lines[0].length < 4_000, `${lines[0].length} characters`);
  assert.match(lines[0], /…\(78976 more characters\)/);
});

Deno.test("series idle for a window are dropped once written, and a later repeat continues the same Event", async () => {
  const sink = new FakeEvents();
  const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
  const r = recorder(sink, clock);
  // Churn: every failover names a new pod, so each message is a new series.
  for (let i = 0; i < 50; i++) {
    r.record(target, "Normal", "LeaderChanged", `leader is now pod p-${i}`);
    clock.t += 1000;
    await settle();
  }
  const held = (r as unknown as { series: { size: number } }).series;
  assert.equal(held.size, 50);
  // An unwritten count (a Warning repeated inside its window) is kept until it is written.
  r.record(target, "Warning", "NoPodsFound", "no pods match");
  await settle();
  r.record(target, "Warning", "NoPodsFound", "no pods match");
  clock.t += REPEAT_WINDOW_MS + 61_000;
  r.record(target, "Normal", "LeaderChanged", "leader is now pod q");
  await settle();
  assert.equal(
    held.size,
    2,
    "the 50 idle written series went; the Warning with an unwritten count and the new one stay",
  );
  const creates = sink.creates;
  r.record(target, "Normal", "LeaderChanged", "leader is now pod p-7");
  await settle();
  assert.equal(sink.creates, creates, "no second Event for the same series");
  const p7 = [...sink.stored.values()].find((e) => e.message === "leader is now pod p-7");
  assert.equal(p7?.count, 2, "the repeat continued the existing Event's count");
});
