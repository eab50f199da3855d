/**
 * Lease election on a real API server. Each elector reaches the API server through its own pausable proxy, so
 * "kill" is a partition: the leader cannot renew, must stop considering itself leader at its renew deadline, and
 * only later does the standby take over when the lease expires.
 */
import assert from "node:assert/strict";
import { startCluster } from "../harness/cluster.ts";
import { sleep, waitFor } from "../harness/wait.ts";
import { LeaseElector } from "../../core/election/lease.ts";
import { KubeClient } from "../../core/kube/client.ts";
import { Leases } from "../../core/kube/paths.ts";
import type { Lease } from "../../core/kube/types.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PausableProxy } from "./_pausable_proxy.ts";

const CLUSTER_TEST = { sanitizeOps: false, sanitizeResources: false };
const logger = new RootLogger(Deno.env.get("ZEN_LEAD_TEST_LOG") === "debug" ? "debug" : "error");
const timing = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 };

interface Candidate {
  id: string;
  elector: LeaseElector;
  proxy: PausableProxy;
  client: KubeClient;
  startedAt: number[];
  stoppedAt: number[];
  run?: { stop: AbortController; done: Promise<void> };
}

Deno.test({
  name: "Lease election: one leader, fast handover on release, safe takeover on partition",
  ...CLUSTER_TEST,
}, async () => {
  await using cluster = await startCluster({ quiet: true });
  const ns = await cluster.newNamespace("election");
  const admin = await KubeClient.fromKubeConfig(cluster.kubeConfig(), { metrics: new MetricsRegistry() });
  const url = new URL(cluster.server);

  const candidates: Candidate[] = [];
  for (const id of ["replica-a", "replica-b"]) {
    const proxy = new PausableProxy({ hostname: url.hostname, port: Number(url.port) });
    const client = await KubeClient.fromKubeConfig(proxy.kubeConfig(cluster.kubeConfig()), {
      metrics: new MetricsRegistry(),
      timeoutMs: 1000,
    });
    const startedAt: number[] = [];
    const stoppedAt: number[] = [];
    const elector = new LeaseElector({
      client,
      namespace: ns,
      name: "zen-lead-controller-leader-election",
      identity: id,
      ...timing,
      onLeaseAcquired: () => void startedAt.push(Date.now()),
      onLeaseLost: () => void stoppedAt.push(Date.now()),
      logger,
      metrics: new MetricsRegistry(),
    });
    const c: Candidate = { id, proxy, client, elector, startedAt, stoppedAt };
    candidates.push(c);
  }
  const [a, b] = candidates;
  const start = (c: Candidate) => {
    const stop = new AbortController();
    c.run = { stop, done: c.elector.run(stop.signal) };
  };
  // Samples holdsLease() of both every 5 ms: the first moment each flips, and whether both were ever true at once.
  let bothLeaders = 0;
  const flips: { id: string; leader: boolean; at: number }[] = [];
  const last = new Map<string, boolean>();
  const sampler = setInterval(() => {
    const now = Date.now();
    let leaders = 0;
    for (const c of candidates) {
      const l = c.elector.holdsLease();
      if (l) leaders++;
      if (last.get(c.id) !== l) flips.push({ id: c.id, leader: l, at: now });
      last.set(c.id, l);
    }
    if (leaders > 1) bothLeaders++;
  }, 5);

  try {
    start(a);
    await waitFor("replica-a to lead", () => a.elector.holdsLease(), { timeoutMs: 10_000 });
    start(b);
    await sleep(2 * timing.retryPeriodMs + 200);
    assert.equal(b.elector.holdsLease(), false, "the standby does not lead while the leader renews");
    assert.equal(b.elector.observedHolder, "replica-a");

    // Graceful handover: release -> the standby, woken by its watch, leads in under 2 s.
    const releasedAt = Date.now();
    assert.equal(await a.elector.release(), true);
    await a.run!.done;
    await waitFor("replica-b to lead after release", () => b.elector.holdsLease(), {
      timeoutMs: 5000,
      intervalMs: 5,
    });
    const handoverMs = b.startedAt[0] - releasedAt;
    console.log(`  election: handover after release took ${handoverMs} ms`);
    assert.ok(handoverMs < 2000, `handover after release took ${handoverMs} ms, expected < 2000 ms`);
    assert.ok(a.stoppedAt[0] <= releasedAt + 50, "replica-a stopped leading before it released the lease");
    const lease = await admin.get<Lease>(Leases, ns, "zen-lead-controller-leader-election");
    assert.equal(lease.spec?.holderIdentity, "replica-b");
    assert.equal(lease.spec?.leaseDurationSeconds, 4);

    // Partition of the leader: it cannot renew and must stop before the standby may take over.
    start(a);
    await sleep(timing.retryPeriodMs * 2);
    assert.equal(a.elector.holdsLease(), false);
    const cutAt = Date.now();
    b.proxy.pause();
    await waitFor("replica-a to take over after expiry", () => a.elector.holdsLease(), {
      timeoutMs: 15_000,
      intervalMs: 5,
    });
    await sleep(20); // let the sampler record the flip it is about to see
    const bLost = flips.find((f) => f.id === "replica-b" && !f.leader && f.at >= cutAt)!;
    const aWon = flips.find((f) => f.id === "replica-a" && f.leader && f.at >= cutAt)!;
    console.log(
      `  election: partitioned leader stopped after ${bLost.at - cutAt} ms (onLeaseLost ${
        b.stoppedAt[0] - cutAt
      } ms), standby took over after ${a.startedAt[1] - cutAt} ms`,
    );
    assert.ok(
      bLost.at < aWon.at,
      "the partitioned leader's holdsLease() turned false before the standby led",
    );
    assert.ok(
      b.stoppedAt[0] < a.startedAt[1],
      "onLeaseLost ran before the new leader's onLeaseAcquired",
    );
    assert.ok(a.startedAt[1] - b.stoppedAt[0] >= 500, "a safety margin of leaseDuration - renewDeadline");
    assert.equal(bothLeaders, 0, "never two leaders at once");
    b.proxy.resume();
    await sleep(timing.retryPeriodMs * 3);
    assert.equal(b.elector.holdsLease(), false, "the healed replica stays a standby");
    assert.equal(a.elector.holdsLease(), true);
  } finally {
    clearInterval(sampler);
    for (const c of candidates) {
      c.run?.stop.abort();
      c.proxy.resume();
      await c.run?.done;
      await c.proxy.close();
      c.client.close();
    }
    admin.close();
  }
});
