/**
 * The Azure Service Gateway backend end to end: the controller under deploy/ RBAC, the plugin enabled
 * through the ConfigMap against the project's ARM emulator, an opted-in LoadBalancer Service that gets its
 * frontend IP in status.loadBalancer.ingress, and a failover that moves the gateway's address.
 */
import assert from "node:assert/strict";
import { ConfigMaps, Services } from "../../core/kube/paths.ts";
import { type ArmEmulator, startArmEmulator } from "../emulators/arm/emulator.ts";
import { type E2E, e2eTest, startE2E } from "./_env.ts";
import { eventOf, getService, routedPods, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";
import { azureBackendConfigMap } from "./_azure.ts";

let env: E2E;
let arm: ArmEmulator;
let metricsPort = 0;
let ns = "";

/** Pod IPs the gateway routes to for services whose name starts with `prefix`. */
function gatewayAddresses(prefix = "zl-"): string[] {
  const out: string[] = [];
  for (const byPod of Object.values(arm.state().addressLocations)) {
    for (const [podIP, services] of Object.entries(byPod)) {
      if (services.some((s) => s.startsWith(prefix) && !s.startsWith("zl-egress-"))) out.push(podIP);
    }
  }
  return out.sort();
}

e2eTest(
  "setup: ARM emulator, control plane, controller with the backend enabled in the ConfigMap",
  async () => {
    arm = startArmEmulator();
    env = await startE2E();
    await env.client.create(ConfigMaps, azureBackendConfigMap(arm.url));
    const h = await env.startController();
    metricsPort = h.metricsPort;
    await h.activated;
    assert.ok(h.kernel.names("backend").includes("azure-servicegateway"), "the backend is enabled");
  },
);

e2eTest("an opted-in Service with the backend gets status.loadBalancer.ingress from the engine", async () => {
  ns = await env.cluster.newNamespace("azure");
  await agedPods(env.kubelet, ns, ["web-0", "web-1"]);
  await createOptedIn(env.client, ns, "web", {
    type: "LoadBalancer",
    annotations: { "zen-lead.io/backend": "azure-servicegateway" },
  });
  const ingress = await waitFor("status.loadBalancer.ingress", async () => {
    const s = await getService(env.client, ns, "web");
    return s?.status?.loadBalancer?.ingress?.[0]?.ip;
  }, 30_000);
  const pips = Object.values(arm.state().publicIPs).map((p) =>
    (p as { properties?: { ipAddress?: string } }).properties?.ipAddress
  );
  assert.ok(pips.includes(ingress), `ingress ${ingress} is one of the emulator's public IPs ${pips}`);
  const routed = await routedPods(env.client, ns, "web-leader");
  assert.deepEqual(routed, ["web-0"]);
  await waitFor(
    "gateway routes to the leader pod",
    () => Promise.resolve(gatewayAddresses().length === 1 || undefined),
  );
});

e2eTest("a leader failover moves the emulator's address to the new leader pod (time printed)", async () => {
  const pods = await env.kubelet.core.listNamespacedPod({ namespace: ns });
  const ipOf = (name: string) => pods.items.find((p) => p.metadata?.name === name)?.status?.podIP;
  assert.deepEqual(gatewayAddresses(), [ipOf("web-0")]);
  const t0 = performance.now();
  await env.kubelet.setPodReady(ns, "web-0", false);
  await waitFor(
    "gateway address moved",
    () => Promise.resolve(gatewayAddresses().join() === ipOf("web-1") || undefined),
    15_000,
  );
  console.log(
    `gateway failover: emulator routes to the new leader ${
      (performance.now() - t0).toFixed(1)
    } ms after the status write`,
  );
  const debug = await (await fetch(`http://127.0.0.1:${metricsPort}/debug/difftracker/services`)).json();
  assert.ok(JSON.stringify(debug).includes("zl-"), JSON.stringify(debug).slice(0, 500));
});

e2eTest(
  "a standby replica leaves the gateway alone (its engine does not run, so it cannot take services for orphans)",
  async () => {
    const before = Object.keys(arm.state().services).sort();
    const writesBefore = arm.requests.filter((r) => r.method !== "GET").length;
    const standby = await env.startController();
    assert.equal(standby.controller.isActive, false);
    await new Promise((r) => setTimeout(r, 1500)); // five times the configured orphan grace
    assert.deepEqual(Object.keys(arm.state().services).sort(), before);
    assert.equal(
      arm.requests.filter((r) => r.method !== "GET").length,
      writesBefore,
      "no ARM writes from the standby",
    );
    const debug = await (await fetch(`http://127.0.0.1:${standby.metricsPort}/debug/difftracker/services`))
      .json();
    assert.match(JSON.stringify(debug), /standby/);
    await standby.stop(1000);
  },
);

e2eTest("opting out removes the gateway service and clears the ingress", async () => {
  await env.client.mergePatch(Services, ns, "web", {
    metadata: { annotations: { "zen-lead.io/enabled": null } },
  });
  await waitFor(
    "gateway service removed",
    () =>
      Promise.resolve(
        Object.keys(arm.state().services).every((s) => !s.startsWith("zl-") || s.startsWith("zl-egress-")) ||
          undefined,
      ),
    15_000,
  );
  await waitFor(
    "ingress cleared",
    async () =>
      ((await getService(env.client, ns, "web"))?.status?.loadBalancer?.ingress ?? []).length === 0 ||
      undefined,
  );
});

e2eTest(
  "an operation ARM refuses (400) is parked: a ServiceGatewayOperationParked Warning Event on the Service",
  async () => {
    arm.script([{ route: "publicIPAddresses", method: "PUT", status: 400, code: "InvalidRequest" }]);
    await agedPods(env.kubelet, ns, ["bad-0"], { labels: { app: "bad" } });
    await createOptedIn(env.client, ns, "bad", {
      type: "LoadBalancer",
      annotations: { "zen-lead.io/backend": "azure-servicegateway" },
    });
    const event = await eventOf(env.client, ns, "bad", "ServiceGatewayOperationParked", undefined, 20_000);
    assert.equal(event.type, "Warning");
    assert.match(event.message, /create of zl-.* parked until .*ARM refused the request.*InvalidRequest/);
    assert.equal(arm.pendingFaults(), 0);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /engine_operations_parked_total\{operation="create",reason="rejected"\} 1/);
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
  await arm?.close();
});
