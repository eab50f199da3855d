/** The probe scheduler: thresholds, on-demand probes, removal, passive checkers, metrics and close. */
import assert from "node:assert/strict";
import type { ProbeTarget } from "../../core/probing/probe_entry.ts";
import { ProbeScheduler } from "../../core/probing/scheduler.ts";
import type { ProbeSchedule } from "../../core/probing/spec.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import type { HealthChecker, HealthResult, PodView } from "../../core/plugin/types.ts";
import { ManualClock } from "../_clock.ts";
import { podView } from "../harness/pod_view.ts";

const SVC = "default/web";

function pod(i: number): PodView {
  return podView(`web-${i}`, { namespace: "default", uid: `uid-${i}`, ip: `10.0.0.${i}` });
}

function schedule(over: Partial<ProbeSchedule> = {}): ProbeSchedule {
  return {
    intervalMs: 1000,
    timeoutMs: 500,
    failureThreshold: 3,
    successThreshold: 1,
    candidateIntervalMs: 5000,
    ...over,
  };
}

/** A checker that answers from a script (true = healthy), cycling, and counts its calls. */
class ScriptedChecker implements HealthChecker {
  calls = 0;
  constructor(private readonly script: readonly boolean[]) {}
  check(): Promise<HealthResult> {
    const healthy = this.script[this.calls++ % this.script.length];
    return Promise.resolve({ healthy, reason: healthy ? "HTTP 200" : "HTTP 500" });
  }
}

interface Transition {
  at: number;
  podUID: string;
  healthy: boolean;
  reason: string;
}

function setup(opts: { concurrency?: number; random?: () => number } = {}) {
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry();
  const scheduler = new ProbeScheduler({ clock, metrics, random: opts.random ?? (() => 0), ...opts });
  const transitions: Transition[] = [];
  scheduler.onTransition((service, podUID, healthy, reason) => {
    assert.equal(service, SVC);
    transitions.push({ at: clock.now(), podUID, healthy, reason });
  });
  return { clock, metrics, scheduler, transitions };
}

function target(i: number, checker: HealthChecker, over: Partial<ProbeTarget> = {}): ProbeTarget {
  return {
    podUID: `uid-${i}`,
    serviceKey: SVC,
    role: "leader",
    pod: pod(i),
    checker,
    spec: {},
    schedule: schedule(),
    type: "fake",
    ...over,
  };
}

Deno.test("a leader turns unhealthy after exactly failureThreshold failures and back after successThreshold", async () => {
  const { clock, scheduler, transitions } = setup();
  // ok, then 3 failures, then 2 successes.
  const checker = new ScriptedChecker([true, false, false, false, true, true, true]);
  scheduler.upsert(target(1, checker, { schedule: schedule({ failureThreshold: 3, successThreshold: 2 }) }));
  await clock.advance(0);
  assert.equal(checker.calls, 1);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, true);
  assert.deepEqual(transitions.map((t) => t.healthy), [true]);

  await clock.advance(1000);
  await clock.advance(1000);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, true, "still healthy after 2 of 3 failures");
  assert.equal(scheduler.state(SVC, "uid-1")?.consecutiveFailures, 2);
  await clock.advance(1000);
  const s = scheduler.state(SVC, "uid-1")!;
  assert.equal(s.healthy, false, "unhealthy after the 3rd consecutive failure");
  assert.equal(s.consecutiveFailures, 3);
  assert.equal(s.lastReason, "HTTP 500");
  assert.equal(s.lastCheckedAt, clock.now());
  assert.deepEqual(transitions.slice(1), [{
    at: clock.now(),
    podUID: "uid-1",
    healthy: false,
    reason: "HTTP 500",
  }]);

  await clock.advance(1000);
  assert.equal(
    scheduler.state(SVC, "uid-1")?.healthy,
    false,
    "one success is not enough with successThreshold 2",
  );
  await clock.advance(1000);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, true);
  assert.deepEqual(transitions.map((t) => t.healthy), [true, false, true]);
  assert.equal(checker.calls, 6, "one check per interval");
  scheduler.close();
});

Deno.test("a flapping pod does not flip the thresholded state when thresholds are > 1", async () => {
  const { clock, scheduler, transitions } = setup();
  const leader = new ScriptedChecker([true, false]);
  const candidate = new ScriptedChecker([true, false]);
  const sched = schedule({ failureThreshold: 2, successThreshold: 2, candidateIntervalMs: 1000 });
  scheduler.upsert(target(1, leader, { schedule: sched }));
  scheduler.upsert(target(2, candidate, { schedule: sched, role: "candidate" }));
  for (let i = 0; i < 30; i++) await clock.advance(1000);
  assert.ok(leader.calls >= 30 && candidate.calls >= 30);
  // Never-probed pods are decided early (the leader by its first success, the candidate by its first failure),
  // then alternating results never reach a threshold of 2, so nothing flips.
  assert.deepEqual(transitions.map((t) => [t.podUID, t.healthy, t.at]), [
    ["uid-1", true, 1_000_000],
    ["uid-2", false, 1_001_000],
  ]);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, true);
  assert.equal(
    scheduler.state(SVC, "uid-2")?.healthy,
    false,
    "the candidate never earned 2 successes in a row",
  );
  scheduler.close();
});

Deno.test("a never-probed candidate is ruled out by one failure and must pass successThreshold checks", async () => {
  const { clock, scheduler, transitions } = setup();
  const checker = new ScriptedChecker([false, true, true, true]);
  scheduler.upsert(target(1, checker, { role: "candidate", schedule: schedule({ successThreshold: 3 }) }));
  await clock.advance(0);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, false);
  await clock.advance(5000);
  await clock.advance(5000);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, false);
  await clock.advance(5000);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, true);
  assert.deepEqual(transitions.map((t) => t.healthy), [false, true]);
  assert.equal(checker.calls, 4, "candidates are probed on the candidate cadence (5 s)");
  scheduler.close();
});

Deno.test("a never-probed leader needs failureThreshold failures to be ruled unhealthy", async () => {
  const { clock, scheduler } = setup();
  scheduler.upsert(target(1, new ScriptedChecker([false])));
  await clock.advance(0);
  await clock.advance(1000);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, undefined);
  await clock.advance(1000);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, false);
  scheduler.close();
});

Deno.test("promotion to leader switches to the leader cadence at once", async () => {
  const { clock, scheduler } = setup({ random: () => 0.5 });
  const checker = new ScriptedChecker([true]);
  scheduler.upsert(target(1, checker, { role: "candidate" }));
  await clock.advance(2500);
  assert.equal(checker.calls, 1, "candidate: first check at 0.5 x 5 s");
  scheduler.upsert(target(1, checker, { role: "leader" }));
  await clock.advance(500);
  assert.equal(checker.calls, 2, "leader: checked within one leader interval of the promotion");
  await clock.advance(3000);
  assert.equal(checker.calls, 5);
  assert.equal(scheduler.state(SVC, "uid-1")?.consecutiveSuccesses, 5, "state survives the role change");
  scheduler.close();
});

Deno.test("re-registering an unchanged target (every reconcile) does not probe it more often", async () => {
  let n = 0;
  const { clock, scheduler } = setup({ random: () => [0.5, 0.1, 0.0][n++ % 3] });
  const checker = new ScriptedChecker([true]);
  scheduler.upsert(target(1, checker));
  for (let i = 0; i < 50; i++) {
    await clock.advance(100);
    scheduler.upsert(target(1, checker));
  }
  assert.equal(checker.calls, 5, "first check at 0.5 s, then once a second over 5 s");
  scheduler.close();
});

Deno.test("concurrency bound: never more checks in flight than allowed, and every target gets probed", async () => {
  const { clock, scheduler } = setup({ concurrency: 8, random: Math.random });
  let inFlight = 0;
  let maxInFlight = 0;
  const probed = new Set<string>();
  const slow: HealthChecker = {
    check: (p) =>
      new Promise((resolve) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        probed.add(p.uid);
        clock.setTimeout(() => {
          inFlight--;
          resolve({ healthy: true, reason: "ok" });
        }, 40);
      }),
  };
  for (let i = 0; i < 200; i++) {
    scheduler.upsert(target(i, slow, { schedule: schedule({ intervalMs: 2000 }) }));
  }
  await clock.advance(4000);
  assert.equal(maxInFlight, 8);
  assert.equal(probed.size, 200);
  scheduler.close();
});

Deno.test("one timer for the whole scheduler, whatever the number of targets", async () => {
  const { clock, scheduler } = setup({ random: Math.random });
  const checker = new ScriptedChecker([true]);
  for (let i = 0; i < 500; i++) {
    scheduler.upsert(target(i, checker, { role: i % 10 === 0 ? "leader" : "candidate" }));
    assert.ok(clock.pending <= 1);
  }
  for (let step = 0; step < 20; step++) {
    await clock.advance(250);
    assert.ok(clock.pending <= 1, `${clock.pending} timers pending`);
    assert.ok(scheduler.stats().timers <= 1);
  }
  assert.ok(checker.calls > 500);
  scheduler.close();
  assert.equal(clock.pending, 0, "close clears the timer");
});

Deno.test("jitter spreads first checks over the interval instead of firing all at once", async () => {
  let n = 0;
  const { clock, scheduler } = setup({ random: () => (n++ % 100) / 100 });
  const checker = new ScriptedChecker([true]);
  for (let i = 0; i < 100; i++) scheduler.upsert(target(i, checker));
  await clock.advance(0);
  assert.equal(checker.calls, 1);
  await clock.advance(499);
  assert.equal(checker.calls, 50);
  await clock.advance(500);
  assert.equal(checker.calls, 100);
  scheduler.close();
});

Deno.test("a check past its timeout is aborted and counts as a failure with the timeout as reason", async () => {
  const { clock, scheduler } = setup();
  let signalReason = "";
  const hanging: HealthChecker = {
    check: (_p, _s, signal, deadline) =>
      new Promise((resolve) => {
        assert.equal(deadline, clock.now() + 500);
        signal.addEventListener("abort", () => {
          signalReason = (signal.reason as Error).message;
          resolve({ healthy: false, reason: "aborted" });
        });
      }),
  };
  scheduler.upsert(target(1, hanging));
  await clock.advance(0);
  assert.equal(scheduler.state(SVC, "uid-1")?.lastCheckedAt, undefined);
  await clock.advance(500);
  assert.equal(signalReason, "timeout after 500ms");
  assert.equal(scheduler.state(SVC, "uid-1")?.lastReason, "timeout after 500ms");
  assert.equal(scheduler.state(SVC, "uid-1")?.consecutiveFailures, 1);
  assert.equal(scheduler.stats().inFlight, 0);
  scheduler.close();
});

Deno.test("a check that ignores the abort is never overlapped and keeps failing each interval", async () => {
  const { clock, scheduler } = setup();
  let starts = 0;
  const stuck: HealthChecker = {
    check: () => {
      starts++;
      return new Promise(() => {});
    },
  };
  scheduler.upsert(target(1, stuck));
  for (let i = 0; i < 4; i++) await clock.advance(1000);
  assert.equal(starts, 1, "no second check while the first has not returned");
  const s = scheduler.state(SVC, "uid-1")!;
  assert.equal(s.healthy, false);
  assert.equal(s.consecutiveFailures, 5, "the timeout at 0.5 s, then one per due time at 1, 2, 3, 4 s");
  assert.equal(s.lastReason, "previous check still running after its timeout");
  scheduler.close();
});

Deno.test("a check that throws (sync or async) or returns garbage is a failure with the error as reason", async () => {
  const { clock, scheduler } = setup();
  const throwsSync: HealthChecker = {
    check: () => {
      throw new Error("boom: no route");
    },
  };
  const rejects: HealthChecker = { check: () => Promise.reject(new TypeError("bad spec")) };
  const garbage = { check: () => Promise.resolve("yes") } as unknown as HealthChecker;
  scheduler.upsert(target(1, throwsSync));
  scheduler.upsert(target(2, rejects));
  scheduler.upsert(target(3, garbage));
  await clock.advance(0);
  assert.equal(scheduler.state(SVC, "uid-1")?.lastReason, "boom: no route");
  assert.equal(scheduler.state(SVC, "uid-2")?.lastReason, "bad spec");
  assert.match(scheduler.state(SVC, "uid-3")?.lastReason ?? "", /invalid result: "yes"/);
  for (const uid of ["uid-1", "uid-2", "uid-3"]) {
    assert.equal(scheduler.state(SVC, uid)?.consecutiveFailures, 1);
  }
  scheduler.close();
});

Deno.test("probeNow runs a check at once, counts it, and joins a check already in flight", async () => {
  const { clock, scheduler } = setup({ random: () => 0.9 });
  const checker = new ScriptedChecker([false]);
  scheduler.upsert(target(1, checker, { role: "candidate" }));
  const r = await scheduler.probeNow(SVC, "uid-1");
  assert.deepEqual(r, { healthy: false, reason: "HTTP 500" });
  assert.equal(checker.calls, 1);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, false);

  let release: (r: HealthResult) => void = () => {};
  let slowCalls = 0;
  const slow: HealthChecker = {
    check: () => {
      slowCalls++;
      return new Promise((resolve) => release = resolve);
    },
  };
  scheduler.upsert(target(2, slow));
  const a = scheduler.probeNow(SVC, "uid-2");
  const b = scheduler.probeNow(SVC, "uid-2");
  await clock.advance(0);
  release({ healthy: true, reason: "SERVING" });
  assert.deepEqual(await a, { healthy: true, reason: "SERVING" });
  assert.deepEqual(await b, { healthy: true, reason: "SERVING" });
  assert.equal(slowCalls, 1);
  await assert.rejects(
    scheduler.probeNow(SVC, "nope"),
    /pod nope is not registered for Service default\/web/,
  );
  scheduler.close();
});

Deno.test("remove and removeService stop probing and release the checker's per-target resources", async () => {
  const { clock, scheduler } = setup();
  const released: string[] = [];
  const checker = new ScriptedChecker([true]);
  const releasing: HealthChecker = {
    check: () => checker.check(),
    release: (p) => released.push(p.uid),
  };
  scheduler.upsert(target(1, releasing));
  scheduler.upsert(target(2, releasing));
  scheduler.upsert(target(3, releasing, { serviceKey: "other/svc" }));
  await clock.advance(0);
  assert.equal(checker.calls, 3);
  scheduler.remove("uid-1", SVC);
  assert.equal(scheduler.state(SVC, "uid-1"), undefined);
  await clock.advance(1000);
  assert.equal(checker.calls, 5);
  scheduler.removeService(SVC);
  await clock.advance(3000);
  assert.equal(checker.calls, 8, "only other/svc is still probed");
  assert.deepEqual(released, ["uid-1", "uid-2"]);
  scheduler.close();
  assert.deepEqual(released, ["uid-1", "uid-2", "uid-3"]);
});

Deno.test("a removed target's in-flight check is aborted and its late result ignored", async () => {
  const { clock, scheduler, transitions } = setup();
  let aborted = false;
  let finish: (r: HealthResult) => void = () => {};
  const slow: HealthChecker = {
    check: (_p, _s, signal) =>
      new Promise((resolve) => {
        finish = resolve;
        signal.addEventListener("abort", () => aborted = true);
      }),
  };
  scheduler.upsert(target(1, slow));
  await clock.advance(0);
  scheduler.remove("uid-1", SVC);
  assert.equal(aborted, true);
  finish({ healthy: true, reason: "late" });
  await clock.advance(0);
  assert.equal(transitions.length, 0);
  assert.equal(scheduler.stats().inFlight, 0);
  scheduler.close();
});

Deno.test("a changed spec or checker resets the state; the same spec keeps it", async () => {
  const { clock, scheduler } = setup();
  const checker = new ScriptedChecker([true]);
  scheduler.upsert(target(1, checker, { spec: { port: 80 } }));
  await clock.advance(0);
  scheduler.upsert(target(1, checker, { spec: { port: 80 }, pod: { ...pod(1), labels: { a: "b" } } }));
  assert.equal(scheduler.state(SVC, "uid-1")?.consecutiveSuccesses, 1);
  scheduler.upsert(target(1, checker, { spec: { port: 81 } }));
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, undefined);
  assert.equal(scheduler.state(SVC, "uid-1")?.consecutiveSuccesses, 0);
  scheduler.close();
});

Deno.test("a passive checker is checked on registration and pod updates, never on a timer", async () => {
  const { clock, scheduler } = setup();
  let calls = 0;
  const passive: HealthChecker = {
    passive: true,
    check: () => (calls++, Promise.resolve({ healthy: true, reason: "Ready" })),
  };
  scheduler.upsert(target(1, passive));
  await clock.advance(0);
  assert.equal(calls, 1);
  assert.equal(scheduler.state(SVC, "uid-1")?.healthy, true);
  await clock.advance(10_000);
  assert.equal(calls, 1);
  assert.equal(clock.pending, 0);
  scheduler.upsert(target(1, passive));
  await clock.advance(0);
  assert.equal(calls, 2);
  scheduler.close();
});

Deno.test("metrics: checks by plugin and result, check duration, probe lag", async () => {
  const { clock, scheduler, metrics } = setup();
  scheduler.upsert(target(1, new ScriptedChecker([true, false])));
  await clock.advance(0);
  await clock.advance(1000);
  await clock.advance(1000);
  const text = metrics.render();
  assert.match(text, /zen_lead_health_checks_total\{plugin="fake",result="healthy"\} 2/);
  assert.match(text, /zen_lead_health_checks_total\{plugin="fake",result="unhealthy"\} 1/);
  assert.match(text, /zen_lead_health_check_duration_seconds_count\{plugin="fake"\} 3/);
  assert.match(text, /zen_lead_probe_lag_seconds_count 3/);
  scheduler.close();
});

Deno.test("close aborts checks in flight and answers waiting probeNow callers", async () => {
  const { clock, scheduler } = setup();
  let aborted = false;
  const hanging: HealthChecker = {
    check: (_p, _s, signal) => new Promise(() => signal.addEventListener("abort", () => aborted = true)),
  };
  scheduler.upsert(target(1, hanging));
  const waiting = scheduler.probeNow(SVC, "uid-1");
  await clock.advance(0);
  scheduler.close();
  assert.equal(aborted, true);
  assert.deepEqual(await waiting, { healthy: false, reason: "probe scheduler closed" });
  assert.equal(clock.pending, 0);
});
