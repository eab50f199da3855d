import assert from "node:assert/strict";
import {
  defaultStallTimeoutMs,
  reopensPerSecond,
  stallTimeoutProblem,
  watchTimeoutRange,
  watchTimeoutSeconds,
} from "../../core/kube/watch_timing.ts";
import { StaleCacheError, Staleness } from "../../core/kube/staleness.ts";
import { CacheGate } from "../../core/kube/cache_gate.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";

Deno.test("stall bound: by default the renew deadline minus a retry period, never under 4 s", () => {
  assert.equal(defaultStallTimeoutMs({ renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), 8_000);
  assert.equal(defaultStallTimeoutMs({ renewDeadlineMs: 30_000, retryPeriodMs: 5_000 }), 25_000);
  assert.equal(defaultStallTimeoutMs({ renewDeadlineMs: 3_000, retryPeriodMs: 1_000 }), 4_000);
});

Deno.test("watch timeoutSeconds: whole seconds, at least 3 (a bookmark comes 2 s before), ending 1 s before the bound", () => {
  assert.deepEqual(watchTimeoutRange(8_000), { min: 4, max: 7 });
  assert.deepEqual(watchTimeoutRange(4_000), { min: 3, max: 3 });
  assert.deepEqual(watchTimeoutRange(60_000), { min: 30, max: 59 });
  for (const stall of [4_000, 5_500, 8_000, 15_000, 3_600_000]) {
    const { min, max } = watchTimeoutRange(stall);
    assert.equal(watchTimeoutSeconds(stall, () => 0), min);
    assert.equal(watchTimeoutSeconds(stall, () => 0.999999), max);
    assert.ok(max * 1000 + 1000 <= stall, `T=${max}s leaves a second under the ${stall} ms bound`);
  }
  assert.equal(reopensPerSecond(8_000), 1 / 5.5);
});

Deno.test("--watch-stall-timeout: from 4 s to the lease duration; the message names both", () => {
  assert.equal(stallTimeoutProblem(8_000, { leaseDurationMs: 15_000 }), undefined);
  assert.equal(stallTimeoutProblem(15_000, { leaseDurationMs: 15_000 }), undefined);
  assert.match(
    stallTimeoutProblem(3_000, { leaseDurationMs: 15_000 })!,
    /expected a duration from 4s to the lease duration \(--leader-elect-lease-duration, 15s\), received 3s/,
  );
  assert.match(stallTimeoutProblem(60_000, { leaseDurationMs: 15_000 })!, /received 60s/);
});

Deno.test("staleness: per scope, the cluster-wide scope covers every namespace, gauges follow", () => {
  const metrics = new MetricsRegistry();
  let now = 1_000;
  const s = new Staleness("pods", metrics, () => now);
  const gauge = (name: string) =>
    metrics.gauge({ name, help: "", labelNames: ["resource"] }).get({ resource: "pods" });
  assert.ok(s.fresh() && s.fresh("a"));
  assert.equal(gauge("zen_lead_cache_stale"), 0);
  s.mark("a");
  now = 3_500;
  s.mark("a"); // the first failure counts
  assert.equal(s.fresh("a"), false);
  assert.equal(s.fresh("b"), true);
  assert.equal(s.fresh(), false);
  assert.equal(gauge("zen_lead_cache_stale"), 1);
  let freshCalls = 0;
  s.onFresh(() => freshCalls++);
  s.mark("");
  assert.equal(s.fresh("b"), false, "a stale cluster-wide scope covers b");
  s.clear("a");
  s.clear("a");
  assert.equal(freshCalls, 1);
  now = 5_000;
  s.clear("");
  assert.ok(s.fresh());
  assert.equal(gauge("zen_lead_cache_stale"), 0);
  assert.equal(gauge("zen_lead_cache_stale_seconds"), 0);
  s.stop();
});

Deno.test("cache gate: a held key is released once every cache it reads is fresh, not before", () => {
  const metrics = new MetricsRegistry();
  const pods = new Staleness("pods", metrics);
  const nodes = new Staleness("nodes", metrics);
  const released: string[] = [];
  const gate = new CacheGate([pods, nodes], (k) => released.push(k));
  pods.mark("a");
  nodes.mark("");
  assert.equal(gate.fresh("a/web"), false);
  assert.equal(gate.fresh("b/web"), false, "nodes are read by every decision");
  gate.hold("a/web");
  gate.hold("b/web");
  nodes.clear("");
  assert.deepEqual(released, ["b/web"]);
  assert.equal(gate.heldKeys, 1);
  pods.clear("a");
  assert.deepEqual(released, ["b/web", "a/web"]);
  assert.ok(gate.fresh());
  assert.match(new StaleCacheError().message, /stale.*write held/);
  pods.stop();
  nodes.stop();
});

Deno.test("the controller refuses to start with a stall bound beyond the lease duration, naming the flag", async () => {
  const { startZenLead } = await import("../../app/start.ts");
  await assert.rejects(
    startZenLead(["--watch-stall-timeout=1m"], { env: {} }),
    /flag --watch-stall-timeout: expected a duration from 4s to the lease duration \(--leader-elect-lease-duration, 15s\), received 60s/,
  );
  await assert.rejects(startZenLead(["--watch-stall-timeout=2s"], { env: {} }), /received 2s/);
  // A longer lease makes room for it.
  await assert.rejects(
    startZenLead([
      "--watch-stall-timeout=20s",
      "--leader-elect-lease-duration=30s",
      "--kubeconfig=/nonexistent",
    ], {
      env: {},
    }),
    (e: Error) => !/watch-stall-timeout/.test(e.message),
  );
});
