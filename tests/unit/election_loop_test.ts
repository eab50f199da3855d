import assert from "node:assert/strict";
import { leaseTimingsProblem } from "../../core/election/timings.ts";
import { parseFlags } from "../../core/config/flags.ts";
import { Reachability } from "../../core/kube/reachability.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { healthApp } from "../../core/http/servers.ts";

Deno.test("Lease timings: retry < renew < lease, whole-second leases; the message names the rule", () => {
  assert.equal(
    leaseTimingsProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    undefined,
  );
  assert.match(
    leaseTimingsProblem({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })!,
    /retry-period < renew-deadline < lease-duration, received 2000ms, 10000ms, 10000ms/,
  );
  assert.match(
    leaseTimingsProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 10_000 })!,
    /retry-period < renew-deadline/,
  );
  assert.match(
    leaseTimingsProblem({ leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 })!,
    /whole seconds/,
  );
});

Deno.test("Lease timing flags take Go durations within 100ms..1h", () => {
  const { settings } = parseFlags([
    "--leader-elect-lease-duration=20s",
    "--leader-elect-renew-deadline",
    "12s",
    "--leader-elect-retry-period=1500ms",
    "--watch-stall-timeout=1m",
  ]);
  assert.equal(settings.leaderElectLeaseDurationMs, 20_000);
  assert.equal(settings.leaderElectRenewDeadlineMs, 12_000);
  assert.equal(settings.leaderElectRetryPeriodMs, 1_500);
  assert.equal(settings.watchStallTimeoutMs, 60_000);
  assert.throws(
    () => parseFlags(["--leader-elect-lease-duration=15"]),
    /--leader-elect-lease-duration: expected a duration from 100ms to 1h, such as 15s, received "15"/,
  );
  assert.throws(() => parseFlags(["--leader-elect-retry-period=2h"]), /from 100ms to 1h/);
});

Deno.test("Reachability: waiters resume when a probe answers; recovery listeners learn since when it was down", async () => {
  let status = 0;
  let probes = 0;
  const r = new Reachability(
    () => {
      probes++;
      return Promise.resolve(status);
    },
    new MetricsRegistry(),
    5,
  );
  await r.whenAnswering(); // answering: resolves at once
  const recovered: number[] = [];
  r.onRecovered((since) => recovered.push(since));
  r.failed(1000);
  r.failed(2000);
  assert.equal(r.downSince, 1000, "the first failure of an outage counts");
  let resumed = false;
  const waiting = r.whenAnswering().then(() => resumed = true);
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(resumed, false, "no answer yet (probes get 0)");
  assert.ok(probes >= 2, `expected repeated probes while down, saw ${probes}`);
  status = 500;
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(resumed, false, "a 5xx is not an answer");
  status = 200;
  await waiting;
  assert.deepEqual(recovered, [1000]);
  assert.equal(r.downSince, undefined);
});

Deno.test("/healthz fails with the reason while a loop is not running; /readyz is separate", async () => {
  let live: string | undefined = undefined;
  const app = healthApp({ notReadyReason: () => undefined, notLiveReason: () => live });
  assert.equal((await app.request("/healthz")).status, 200);
  live = "leader election loop is not running";
  const res = await app.request("/healthz");
  assert.equal(res.status, 503);
  assert.equal(await res.text(), "not live: leader election loop is not running");
  assert.equal((await app.request("/readyz")).status, 200);
});
