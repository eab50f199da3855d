/**
 * zen-lead's core behaviour on a real API server: the predecessor's five end-to-end scenarios and the rules
 * around them. One control plane and one controller (under deploy/rbac.yaml) serve the file; every test has its
 * own namespace.
 */
import assert from "node:assert/strict";
import { EndpointSlices, Services } from "../../core/kube/paths.ts";
import { type E2E, e2eTest, startE2EWithController } from "./_env.ts";
import { eventOf, eventsFor, getService, getSlice, leaderIs, routedPods, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn, type HTTP_PORT, webApp } from "./_fixtures.ts";

let env: E2E;

e2eTest("setup: control plane, RBAC from deploy/, controller under its ServiceAccount", async () => {
  const started = await startE2EWithController();
  env = started.env;
  assert.equal(started.h.controller.synced(), true);
});

async function appWithPods(prefix: string, n: number, opts: { ports?: typeof HTTP_PORT } = {}) {
  const ns = await env.cluster.newNamespace(prefix);
  const pods = await agedPods(env.kubelet, ns, Array.from({ length: n }, (_, i) => `web-${i}`), opts);
  return { ns, pods };
}

e2eTest(
  "leader Service creation: selector-less, ports resolved, owned by the source, annotated with the leader",
  async () => {
    const { ns } = await appWithPods("create", 2);
    const src = await createOptedIn(env.client, ns, "web");
    const leader = await waitFor("web-leader Service", () => getService(env.client, ns, "web-leader"));
    assert.equal(leader.spec?.selector, undefined);
    assert.deepEqual(leader.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]), [["http", 80, 8080]]);
    assert.equal(leader.metadata.labels?.["app.kubernetes.io/managed-by"], "zen-lead");
    assert.equal(leader.metadata.labels?.["zen-lead.io/source-service"], "web");
    assert.equal(leader.metadata.ownerReferences?.[0].uid, src.metadata.uid);
    assert.equal(leader.metadata.annotations?.["zen-lead.io/enabled"], undefined);
    const pod = await waitFor(
      "leader annotation",
      async () =>
        (await getService(env.client, ns, "web-leader"))?.metadata.annotations
          ?.["zen-lead.io/current-leader"],
    );
    assert.equal(pod, "web-0", "oldest pod leads");
    // Events are written after the objects, on their own rate limit: wait for it rather than read once.
    await eventOf(env.client, ns, "web", "LeaderServiceCreated");
  },
);

e2eTest(
  "EndpointSlice creation: one endpoint to the oldest pod, named ports, owned by the leader Service",
  async () => {
    const { ns, pods } = await appWithPods("slice", 2);
    await createOptedIn(env.client, ns, "web");
    const slice = await waitFor("web-leader slice with an endpoint", async () => {
      const s = await getSlice(env.client, ns, "web-leader");
      return s?.endpoints?.length ? s : undefined;
    });
    const leaderSvc = await getService(env.client, ns, "web-leader");
    assert.equal(slice.addressType, "IPv4");
    assert.equal(slice.endpoints!.length, 1);
    assert.equal(slice.endpoints![0].targetRef?.uid, pods[0].metadata?.uid);
    assert.deepEqual(slice.endpoints![0].addresses, [pods[0].status?.podIP]);
    assert.deepEqual(slice.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
    assert.equal(slice.metadata.labels?.["kubernetes.io/service-name"], "web-leader");
    assert.equal(
      slice.metadata.ownerReferences?.[0].uid,
      leaderSvc?.metadata.uid,
      "owner is the real leader UID",
    );
    assert.ok(slice.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"]);
  },
);

e2eTest("failover on leader deletion: a new leader in under 1 s (measured)", async () => {
  const { ns, pods } = await appWithPods("failover", 3);
  await createOptedIn(env.client, ns, "web");
  await leaderIs(env.client, ns, "web-leader", "web-0");
  const t0 = performance.now();
  // The kubelet simulator finishes the deletion after the grace period; the leader must move at the DELETE.
  const deleting = env.kubelet.deletePodGracefully(ns, "web-0", { graceSeconds: 5 });
  const next = await waitFor("a new leader", async () => {
    const r = await routedPods(env.client, ns, "web-leader");
    return r?.length && r[0] !== "web-0" ? r[0] : undefined;
  }, 5000);
  const ms = performance.now() - t0;
  console.log(`failover on deletion: ${ms.toFixed(1)} ms (new leader ${next})`);
  assert.equal(next, "web-1", "the next oldest, not the terminating pod");
  assert.ok(ms < 1000, `failover took ${ms} ms`);
  assert.equal(pods.length, 3);
  await deleting;
  const events = await waitFor("LeaderChanged event", async () => {
    const ev = await eventsFor(env.client, ns, "web");
    return ev.some((e) => e.reason === "LeaderChanged") ? ev : undefined;
  });
  assert.ok(events.length > 0);
});

e2eTest(
  "clean-up on annotation removal: leader Service and slice are deleted, the source untouched",
  async () => {
    const ns = await webApp(env, "cleanup", ["web-0"]);
    await waitFor("slice", () => getSlice(env.client, ns, "web-leader"));
    await env.client.mergePatch(Services, ns, "web", {
      metadata: { annotations: { "zen-lead.io/enabled": null } },
    });
    await waitFor(
      "leader Service gone",
      async () => (await getService(env.client, ns, "web-leader")) ? undefined : true,
    );
    await waitFor(
      "slice gone",
      async () => (await getSlice(env.client, ns, "web-leader")) ? undefined : true,
    );
    const src = await getService(env.client, ns, "web");
    assert.ok(src, "source Service still exists");
  },
);

e2eTest(
  "named-port resolution fails closed: endpoints [] and NamedPortResolutionFailed, leader Service keeps ports",
  async () => {
    const ns = await env.cluster.newNamespace("ports");
    await env.kubelet.createPod(ns, {
      name: "web-0",
      labels: { app: "web" },
      ports: [{ name: "metrics", containerPort: 9090 }],
    });
    await createOptedIn(env.client, ns, "web");
    const slice = await waitFor("slice", () => getSlice(env.client, ns, "web-leader"));
    assert.deepEqual(slice.endpoints ?? [], []);
    const svc = await getService(env.client, ns, "web-leader");
    assert.equal(svc?.spec?.ports?.length, 1, "never ports: []");
    const event = await eventOf(env.client, ns, "web", "NamedPortResolutionFailed");
    assert.match(event.message, /named port "http"/);
  },
);

e2eTest("no eligible pod: endpoints [] (never a stale endpoint); NoReadyPods event", async () => {
  const ns = await webApp(env, "noready", ["web-0"]);
  await waitFor(
    "routed",
    async () => (await routedPods(env.client, ns, "web-leader"))?.length ? true : undefined,
  );
  await env.kubelet.setPodReady(ns, "web-0", false);
  await waitFor(
    "no endpoints",
    async () => (await routedPods(env.client, ns, "web-leader"))?.length === 0 || undefined,
  );
  const slice = await getSlice(env.client, ns, "web-leader");
  assert.deepEqual(slice?.endpoints ?? [], []);
  await eventOf(env.client, ns, "web", "NoReadyPods");
});

e2eTest("drift is repaired: an edited slice and a deleted slice come back", async () => {
  const ns = await webApp(env, "drift", ["web-0"]);
  await waitFor(
    "routed",
    async () => (await routedPods(env.client, ns, "web-leader"))?.length ? true : undefined,
  );
  await env.client.mergePatch(EndpointSlices, ns, "web-leader", { endpoints: [] });
  await leaderIs(env.client, ns, "web-leader", "web-0");
  await env.client.delete(EndpointSlices, ns, "web-leader");
  await leaderIs(env.client, ns, "web-leader", "web-0");
  await eventOf(env.client, ns, "web", "EndpointSliceDeleted");
});

e2eTest("teardown", async () => {
  await env?.stop();
});
