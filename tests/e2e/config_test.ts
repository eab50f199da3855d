/**
 * The ConfigMap reconfigures a running controller: a valid edit applies without a restart, an invalid
 * one is refused with a Warning Event on the ConfigMap while the last good configuration keeps routing.
 */
import assert from "node:assert/strict";
import { ConfigMaps, Services } from "../../core/kube/paths.ts";
import type { Service } from "../../core/kube/types.ts";
import {
  agedPods,
  CONTROLLER_NS,
  type E2E,
  eventsFor,
  HTTP_PORT,
  leaderIs,
  noSanitize,
  optedInService,
  routedPods,
  setControllerConfig,
  startE2E,
  waitFor,
} from "./_env.ts";

let env: E2E;
let ns = "";

async function setConfig(text: string): Promise<void> {
  await setControllerConfig(env.client, text);
}

Deno.test({
  name: "setup: controller running on defaults (no ConfigMap), oldest pod leads",
  ...noSanitize,
  async fn() {
    env = await startE2E();
    await (await env.startController()).activated;
    ns = await env.cluster.newNamespace("config");
    await agedPods(env.kubelet, ns, ["old", "young"]);
    await env.client.create<Service>(Services, optedInService(ns, "web"));
    await leaderIs(env.client, ns, "web-leader", "old");
  },
});

Deno.test({
  name: "a valid ConfigMap edit applies without a restart: defaults newest + not sticky moves the leader",
  ...noSanitize,
  async fn() {
    const t0 = performance.now();
    await setConfig("defaults:\n  strategy: newest\n  sticky: false\n");
    await leaderIs(env.client, ns, "web-leader", "young");
    console.log(`config edit to new leader: ${(performance.now() - t0).toFixed(0)} ms`);
  },
});

Deno.test({
  name:
    "an invalid edit is refused: InvalidConfiguration Event on the ConfigMap, the last good config keeps routing",
  ...noSanitize,
  async fn() {
    await setConfig("defaults:\n  strategy: no-such-strategy\n  sticky: false\n");
    const ev = await waitFor("InvalidConfiguration event", async () => {
      const list = await eventsFor(env.client, CONTROLLER_NS, "zen-lead-config");
      return list.find((e) => e.reason === "InvalidConfiguration");
    });
    assert.equal(ev.type, "Warning");
    assert.match(ev.message, /no-such-strategy/);
    // The last good configuration (newest, not sticky) still decides: a newer pod takes over.
    await env.kubelet.createPod(ns, { name: "newest", labels: { app: "web" }, ports: HTTP_PORT });
    await leaderIs(env.client, ns, "web-leader", "newest");
  },
});

Deno.test({
  name: "deleting the ConfigMap returns to the defaults (oldest, sticky)",
  ...noSanitize,
  async fn() {
    await env.client.delete(ConfigMaps, CONTROLLER_NS, "zen-lead-config");
    // Sticky again: the sitting leader stays although "old" is older.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await routedPods(env.client, ns, "web-leader"), ["newest"]);
    await env.kubelet.setPodReady(ns, "newest", false);
    await leaderIs(env.client, ns, "web-leader", "old");
  },
});

Deno.test({
  name: "teardown",
  ...noSanitize,
  async fn() {
    await env?.stop();
  },
});
