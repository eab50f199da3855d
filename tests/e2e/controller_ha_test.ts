/**
 * The controller as users run it: separate processes (`deno run main.ts`) under the ServiceAccount of
 * deploy/, restarted, replicated, killed, and installed namespace-scoped with Roles only.
 */
import assert from "node:assert/strict";
import { Replica } from "./_replica.ts";
import { applyManifest, CONTROLLER_NS, type E2E, e2eTest, startE2E } from "./_env.ts";
import { electionHolder, getService, leaderIs, routedPods, waitFor } from "./_reads.ts";
import { createOptedIn, HTTP_PORT, webApp } from "./_fixtures.ts";

let env: E2E;

function app(prefix: string, n = 2) {
  return webApp(env, prefix, Array.from({ length: n }, (_, i) => `web-${i}`));
}

e2eTest("setup: control plane with deploy/ RBAC", async () => {
  env = await startE2E();
});

e2eTest("stickiness across a controller restart: the younger sitting leader stays", async () => {
  const a = new Replica("sticky-a", env.saKubeconfig, ["--leader-elect=false"]);
  const ns = await app("restart", 2);
  await leaderIs(env.client, ns, "web-leader", "web-0", 30_000);
  // web-0 loses readiness and regains it: web-1 leads meanwhile, and the older web-0 must not take back over.
  await env.kubelet.setPodReady(ns, "web-0", false);
  await leaderIs(env.client, ns, "web-leader", "web-1");
  await env.kubelet.setPodReady(ns, "web-0", true);
  assert.equal((await a.signal("SIGTERM")).code, 0, "graceful exit");
  const switchTime = (await getService(env.client, ns, "web-leader"))?.metadata.annotations
    ?.["zen-lead.io/leader-last-switch-time"];
  const b = new Replica("sticky-b", env.saKubeconfig, ["--leader-elect=false"]);
  await waitFor("b synced", () => Promise.resolve(b.logged("caches synced") || undefined), 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(
    await routedPods(env.client, ns, "web-leader"),
    ["web-1"],
    "web-1 still leads although web-0 is older",
  );
  const after = (await getService(env.client, ns, "web-leader"))?.metadata.annotations
    ?.["zen-lead.io/leader-last-switch-time"];
  assert.equal(after, switchTime, "no switch recorded by the restart");
  await b.signal("SIGTERM");
});

e2eTest(
  "two replicas: only the Lease holder writes; SIGTERM releases the Lease and the standby takes over in < 2 s",
  async () => {
    const a = new Replica("replica-a", env.saKubeconfig);
    await waitFor(
      "a holds the Lease",
      async () => (await electionHolder(env.client)) === "replica-a" || undefined,
      30_000,
    );
    const b = new Replica("replica-b", env.saKubeconfig);
    await waitFor(
      "b synced (warm standby)",
      () => Promise.resolve(b.logged("caches synced") || undefined),
      30_000,
    );
    const ns = await app("ha", 2);
    await leaderIs(env.client, ns, "web-leader", "web-0");
    assert.equal(await electionHolder(env.client), "replica-a");
    assert.ok(!b.logged("started leading"), "the standby never led");

    const t0 = performance.now();
    assert.equal((await a.signal("SIGTERM")).code, 0);
    await waitFor(
      "b holds the Lease",
      async () => (await electionHolder(env.client)) === "replica-b" || undefined,
      5000,
    );
    const takeover = performance.now() - t0;
    console.log(`graceful handover: standby leads ${takeover.toFixed(0)} ms after SIGTERM`);
    assert.ok(takeover < 2000, `takeover took ${takeover} ms`);
    // The new active replica acts: a failover after the handover is handled by b.
    await env.kubelet.setPodReady(ns, "web-0", false);
    await leaderIs(env.client, ns, "web-leader", "web-1");

    // Killed without a chance to release: the standby waits out the Lease, then takes over.
    const c = new Replica("replica-c", env.saKubeconfig);
    await waitFor("c synced", () => Promise.resolve(c.logged("caches synced") || undefined), 30_000);
    const t1 = performance.now();
    await b.signal("SIGKILL");
    await waitFor(
      "c holds the Lease",
      async () => (await electionHolder(env.client)) === "replica-c" || undefined,
      30_000,
    );
    console.log(
      `after SIGKILL: standby leads ${(performance.now() - t1).toFixed(0)} ms later (lease duration 15 s)`,
    );
    await env.kubelet.setPodReady(ns, "web-0", true);
    await env.kubelet.setPodReady(ns, "web-1", false);
    await leaderIs(env.client, ns, "web-leader", "web-0");
    await c.signal("SIGTERM");
  },
);

e2eTest(
  "namespace-scoped install with Roles only (deploy/namespaced): watches, routes, and is ready",
  async () => {
    const ns = await env.cluster.newNamespace("scoped");
    await applyManifest(env.client, "deploy/namespaced/rbac.yaml", {
      "namespace: apps": `namespace: ${ns}`,
      "name: zen-lead\n": "name: zen-lead-scoped\n",
      "zen-lead-self": "zen-lead-scoped-self",
    });
    const kubeconfig = await env.cluster.serviceAccountKubeconfig(CONTROLLER_NS, "zen-lead-scoped");
    const r = new Replica("scoped", kubeconfig, [`--watch-namespace=${ns}`, "--leader-elect=false"]);
    await env.kubelet.createPod(ns, { name: "web-0", labels: { app: "web" }, ports: HTTP_PORT });
    await createOptedIn(env.client, ns, "web");
    await leaderIs(env.client, ns, "web-leader", "web-0", 30_000);
    const forbidden = r.lines.filter((l) => /forbidden/i.test(JSON.stringify(l)));
    assert.deepEqual(forbidden, [], "no permission errors");
    const health = r.lines.find((l) => l.msg === "health server listening")?.address as string;
    const ready = await fetch(`http://${health}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    await r.signal("SIGTERM");
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
