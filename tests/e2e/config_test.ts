/**
 * The ConfigMap reconfigures a running controller: a valid edit applies without a restart, an invalid
 * one is refused with a Warning Event on the ConfigMap while the last good configuration keeps routing.
 */
import assert from "node:assert/strict";
import { ConfigMaps } from "../../core/kube/paths.ts";
import { CONTROLLER_NS, type E2E, e2eTest, setControllerConfig, startE2EWithController } from "./_env.ts";
import { eventOf, leaderIs, routedPods } from "./_reads.ts";
import { agedPods, createOptedIn, HTTP_PORT } from "./_fixtures.ts";

let env: E2E;
let ns = "";

async function setConfig(text: string): Promise<void> {
  await setControllerConfig(env.client, text);
}

e2eTest("setup: controller running on defaults (no ConfigMap), oldest pod leads", async () => {
  ({ env } = await startE2EWithController());
  ns = await env.cluster.newNamespace("config");
  await agedPods(env.kubelet, ns, ["old", "young"]);
  await createOptedIn(env.client, ns, "web");
  await leaderIs(env.client, ns, "web-leader", "old");
});

e2eTest(
  "a valid ConfigMap edit applies without a restart: defaults newest + not sticky moves the leader",
  async () => {
    const t0 = performance.now();
    await setConfig("defaults:\n  strategy: newest\n  sticky: false\n");
    await leaderIs(env.client, ns, "web-leader", "young");
    console.log(`config edit to new leader: ${(performance.now() - t0).toFixed(0)} ms`);
  },
);

e2eTest(
  "an invalid edit is refused: InvalidConfiguration Event on the ConfigMap, the last good config keeps routing",
  async () => {
    await setConfig("defaults:\n  strategy: no-such-strategy\n  sticky: false\n");
    const ev = await eventOf(env.client, CONTROLLER_NS, "zen-lead-config", "InvalidConfiguration");
    assert.equal(ev.type, "Warning");
    assert.match(ev.message, /no-such-strategy/);
    // The last good configuration (newest, not sticky) still decides: a newer pod takes over.
    await env.kubelet.createPod(ns, { name: "newest", labels: { app: "web" }, ports: HTTP_PORT });
    await leaderIs(env.client, ns, "web-leader", "newest");
  },
);

e2eTest("deleting the ConfigMap returns to the defaults (oldest, sticky)", async () => {
  await env.client.delete(ConfigMaps, CONTROLLER_NS, "zen-lead-config");
  // Sticky again: the sitting leader stays although "old" is older.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await routedPods(env.client, ns, "web-leader"), ["newest"]);
  await env.kubelet.setPodReady(ns, "newest", false);
  await leaderIs(env.client, ns, "web-leader", "old");
});

e2eTest("teardown", async () => {
  await env?.stop();
});
