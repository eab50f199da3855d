/**
 * Beyond --max-pod-watch-namespaces namespaces with opted-in Services, one cluster-wide pod watch replaces the
 * per-namespace ones; back under it, the per-namespace watches return and the cluster-wide one closes only
 * after they are listed, so no pod event is missed on either switch.
 */
import assert from "node:assert/strict";
import { Services } from "../../core/kube/paths.ts";
import type { ZenLeadHandle } from "../../app/start.ts";
import { type E2E, e2eTest, startE2EWithController } from "./_env.ts";
import { leaderIs, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";

let env: E2E;
let h: ZenLeadHandle;

const scopes = () => h.controller.pods.watchedScopes;

e2eTest("setup: controller with --max-pod-watch-namespaces=1", async () => {
  ({ env, h } = await startE2EWithController(["--max-pod-watch-namespaces=1"]));
});

e2eTest(
  "two namespaces over a limit of one: one cluster-wide watch; back to one: its own watch again",
  async () => {
    const a = await env.cluster.newNamespace("wide-a");
    const b = await env.cluster.newNamespace("wide-b");
    const other = await env.cluster.newNamespace("wide-none");
    await agedPods(env.kubelet, a, ["web-0", "web-1"]);
    await agedPods(env.kubelet, b, ["web-0", "web-1"]);
    await agedPods(env.kubelet, other, ["web-0"]);

    await createOptedIn(env.client, a, "web");
    await leaderIs(env.client, a, "web-leader", "web-0", 5000);
    assert.deepEqual(scopes(), [a]);
    assert.equal(h.controller.pods.list(other).length, 0);

    await createOptedIn(env.client, b, "web");
    await leaderIs(env.client, b, "web-leader", "web-0", 5000);
    assert.deepEqual(scopes(), [""], "over the limit: cluster-wide");
    assert.equal(h.controller.pods.list(other).length, 1, "cluster-wide caches every pod");
    // Failovers in both namespaces go through the cluster-wide watch.
    await env.kubelet.setPodReady(a, "web-0", false);
    await env.kubelet.setPodReady(b, "web-0", false);
    await leaderIs(env.client, a, "web-leader", "web-1");
    await leaderIs(env.client, b, "web-leader", "web-1");

    await env.client.delete(Services, b, "web");
    await waitFor(
      "back to the per-namespace watch",
      () => Promise.resolve(scopes().length === 1 && scopes()[0] === a ? true : undefined),
    );
    assert.equal(h.controller.pods.list(other).length, 0, "pods outside the opted-in namespace dropped");
    assert.equal(h.controller.pods.list(b).length, 0);
    assert.equal(h.controller.pods.list(a).length, 2);
    // The namespace's own watch is live.
    await env.kubelet.setPodReady(a, "web-0", true);
    await env.kubelet.setPodReady(a, "web-1", false);
    await leaderIs(env.client, a, "web-leader", "web-0");
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
