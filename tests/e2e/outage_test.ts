/**
 * API server outages with two controller replicas (separate processes, default Lease timings: 15 s lease, 10 s
 * renew deadline, 2 s retry): the kube-apiserver of this test's own cluster is SIGKILLed for 5 s and then 30 s.
 * After each, within one lease duration of the API server being ready, a replica leads and a readiness flip is
 * routed; the standby still campaigns (the active one is then killed and the standby takes over); /healthz fails
 * when the election loop does not run.
 */
import assert from "node:assert/strict";
import { type E2E, e2eTest, grantLease, startE2E } from "./_env.ts";
import { electionHolder, routedPods, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";
import { sample } from "./_metrics.ts";
import { Replica } from "./_replica.ts";

const LEASE_MS = 15_000;
let env: E2E;
let ns = "";
const replicas: Replica[] = [];

/** Makes the routed pod not Ready (and the previous one Ready again); resolves to the pod that must lead next. */
async function flip(pods: string[], current: string): Promise<string> {
  const others = pods.filter((p) => p !== current);
  for (const p of others) await env.kubelet.setPodReady(ns, p, true);
  await env.kubelet.setPodReady(ns, current, false);
  return others[0]; // strategy oldest: pods are created a second apart, in this order
}

async function outage(downMs: number, pods: string[]): Promise<void> {
  const before = (await routedPods(env.client, ns, "web-leader"))![0];
  await env.cluster.killProcess("kube-apiserver");
  const killedAt = performance.now();
  await new Promise((r) => setTimeout(r, downMs));
  await env.cluster.restartProcess("kube-apiserver");
  const readyAt = performance.now();
  const next = await flip(pods, before);
  await waitFor(
    `${next} routed within one lease duration after a ${downMs} ms outage`,
    async () => (await routedPods(env.client, ns, "web-leader"))?.[0] === next || undefined,
    LEASE_MS,
  );
  const appliedMs = performance.now() - readyAt;
  const holder = await electionHolder(env.client);
  console.log(
    `  outage ${downMs} ms (API server down ${((readyAt - killedAt) / 1000).toFixed(1)} s): readiness flip ` +
      `routed ${appliedMs.toFixed(0)} ms after the API server was ready; Lease held by ${holder}`,
  );
  assert.ok(
    replicas.some((r) => r.identity === holder),
    `expected a replica to hold the Lease, found ${holder}`,
  );
}

e2eTest("setup: control plane, two replicas, a Service with three pods", async () => {
  env = await startE2E();
  ns = await env.cluster.newNamespace("outage");
  await agedPods(env.kubelet, ns, ["web-0", "web-1", "web-2"]);
  await createOptedIn(env.client, ns, "web");
  replicas.push(new Replica("outage-a", env.saKubeconfig));
  await waitFor(
    "outage-a holds the Lease",
    async () => (await electionHolder(env.client)) === "outage-a" || undefined,
    60_000,
  );
  replicas.push(new Replica("outage-b", env.saKubeconfig));
  await waitFor(
    "outage-b synced",
    () => Promise.resolve(replicas[1].logged("caches synced") || undefined),
    60_000,
  );
  await waitFor(
    "web-0 routed",
    async () => (await routedPods(env.client, ns, "web-leader"))?.[0] === "web-0" || undefined,
    30_000,
  );
});

e2eTest(
  "healthy idle watches are reopened by the server's clean close, never as stalls (the stall bound's cost)",
  async () => {
    const read = async () => await (await fetch(`http://${replicas[0].address("metrics")}/metrics`)).text();
    const before = await read();
    const startedAt = performance.now();
    await new Promise((r) => setTimeout(r, 16_000));
    const after = await read();
    const seconds = (performance.now() - startedAt) / 1000;
    const reopens = sample(after, "zen_lead_watch_restarts_total", { reason: "closed" }) -
      sample(before, "zen_lead_watch_restarts_total", { reason: "closed" });
    // services, pods (one namespace), endpointslices, nodes, the ConfigMap: five watches.
    console.log(
      `  default 8 s stall bound: ${reopens} reopens in ${seconds.toFixed(1)} s over 5 watches = ` +
        `${(reopens / seconds / 5).toFixed(3)} per watch per second (expected 1/5.5 = 0.182)`,
    );
    assert.equal(
      sample(after, "zen_lead_watch_restarts_total", { reason: "stall" }),
      sample(before, "zen_lead_watch_restarts_total", { reason: "stall" }),
      "no stall restart of a healthy watch",
    );
    assert.ok(reopens >= 5, `each watch reopened at least once in 16 s (${reopens})`);
  },
);

e2eTest(
  "API server down 5 s, then 30 s: a replica leads again and a readiness flip is routed within a lease",
  async () => {
    const pods = ["web-0", "web-1", "web-2"];
    await outage(5_000, pods);
    await outage(30_000, pods);
    for (const r of replicas) {
      assert.ok(!r.logged("leader election loop ended"), `${r.identity}: the election loop never ends`);
      const health = await fetch(`http://${r.address("health")}/healthz`);
      assert.equal(health.status, 200, `${r.identity} /healthz: ${await health.text()}`);
    }
  },
);

e2eTest(
  "after the outages the standby still campaigns: the active replica is killed and the standby takes over",
  async () => {
    const holder = await electionHolder(env.client);
    const active = replicas.find((r) => r.identity === holder)!;
    const standby = replicas.find((r) => r !== active)!;
    assert.ok(
      active && standby,
      `expected one of ${replicas.map((r) => r.identity)} to hold, found ${holder}`,
    );
    const metrics = await (await fetch(`http://${standby.address("metrics")}/metrics`)).text();
    assert.equal(sample(metrics, "zen_lead_leader_election_status"), 0);
    const killedAt = performance.now();
    await active.signal("SIGKILL");
    await waitFor(
      `${standby.identity} to hold the Lease`,
      async () => (await electionHolder(env.client)) === standby.identity || undefined,
      2 * LEASE_MS,
    );
    const takeoverMs = performance.now() - killedAt;
    const current = (await routedPods(env.client, ns, "web-leader"))![0];
    const next = await flip(["web-0", "web-1", "web-2"], current);
    const flippedAt = performance.now();
    await waitFor(
      `${next} routed by the new leader`,
      async () => (await routedPods(env.client, ns, "web-leader"))?.[0] === next || undefined,
      10_000,
    );
    console.log(
      `  SIGKILL of ${active.identity}: ${standby.identity} took the Lease after ${
        takeoverMs.toFixed(0)
      } ms; ` +
        `a flip was routed ${(performance.now() - flippedAt).toFixed(0)} ms later`,
    );
    const after = await (await fetch(`http://${standby.address("metrics")}/metrics`)).text();
    assert.equal(sample(after, "zen_lead_leader_election_status"), 1);
    assert.ok(sample(after, "zen_lead_leader_election_transitions_total", { event: "started" }) >= 1);
    assert.ok(sample(after, "zen_lead_leader_election_seconds_since_last_renew") < 10);
  },
);

e2eTest("/healthz fails once the election loop is not running", async () => {
  // A second election of its own (the replicas hold the default Lease), which deploy/rbac.yaml does not name.
  await grantLease(env.client, "healthz-probe");
  const h = await env.startController(["--leader-election-id=healthz-probe"]);
  let led = false;
  h.activated.then(() => led = true);
  await waitFor("the healthz-probe election to lead", () => Promise.resolve(led || undefined), 20_000);
  const url = `http://127.0.0.1:${h.healthPort}/healthz`;
  assert.equal((await fetch(url)).status, 200);
  h.elector!.stop();
  const res = await waitFor("/healthz to fail", async () => {
    const r = await fetch(url);
    const body = await r.text();
    return r.status === 503 ? body : undefined;
  }, 10_000);
  assert.match(res, /leader election loop is not running/);
});

e2eTest("teardown", async () => {
  for (const r of replicas) await r.signal("SIGTERM");
  await env?.stop();
});
