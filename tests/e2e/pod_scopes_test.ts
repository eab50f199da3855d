/**
 * Pay only for what is opted in: pods are watched only in namespaces that hold an opted-in Service. Opting in
 * a Service where there was none opens that namespace's watch before the Service is decided (its leader comes
 * in the usual time, from the full pod list); opting out closes it and its pods leave the cache.
 */
import assert from "node:assert/strict";
import { Services } from "../../core/kube/paths.ts";
import type { Pod, Service } from "../../core/kube/types.ts";
import type { ZenLeadHandle } from "../../app/start.ts";
import { scrape } from "./_metrics.ts";
import { type E2E, e2eTest, startE2EWithController } from "./_env.ts";
import { eventsFor, getService, leaderIs, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn, HTTP_PORT, optedInService, webApp } from "./_fixtures.ts";

let env: E2E;
let h: ZenLeadHandle;

const cachedPods = (ns: string): Pod[] => h.controller.pods.list(ns);

async function setOptIn(ns: string, name: string, on: boolean): Promise<void> {
  const svc = (await getService(env.client, ns, name))!;
  const annotations = { ...svc.metadata.annotations };
  if (on) annotations["zen-lead.io/enabled"] = "true";
  else delete annotations["zen-lead.io/enabled"];
  await env.client.replace<Service>(Services, { ...svc, metadata: { ...svc.metadata, annotations } });
}

e2eTest("setup: control plane, controller under deploy/ RBAC, a namespace of background pods", async () => {
  ({ env, h } = await startE2EWithController());
});

/** A new namespace with pods web-0, web-1 and a Service "web" over them that is not opted in, once cached. */
async function plainApp(prefix: string): Promise<string> {
  const ns = await env.cluster.newNamespace(prefix);
  await agedPods(env.kubelet, ns, ["web-0", "web-1"]);
  const plain = optedInService(ns, "web");
  delete plain.metadata.annotations!["zen-lead.io/enabled"];
  await env.client.create<Service>(Services, plain);
  await waitFor(
    "the plain Service in the cache",
    () => Promise.resolve(h.controller.services.get(`${ns}/web`)),
  );
  return ns;
}

e2eTest(
  "a namespace without an opted-in Service is not watched: its pods and Services cost no pod cache",
  async () => {
    const bg = await plainApp("background");
    // Give a wrong implementation time to list the namespace's pods.
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(
      !h.controller.pods.watchedScopes.includes(bg),
      `${bg} watched: ${h.controller.pods.watchedScopes}`,
    );
    assert.ok(!h.controller.pods.watchedScopes.includes(""), "no cluster-wide pod watch");
    assert.deepEqual(cachedPods(bg), []);
    // A Service nothing opts in is cached as a name with its zen-lead annotations, without its spec.
    assert.equal(h.controller.services.get(`${bg}/web`)?.spec, undefined);
    const text = await scrape(h.metricsPort);
    assert.ok(!text.includes(`namespace="${bg}"`), "no per-Service series for a Service not opted in");
  },
);

e2eTest(
  "opting in a Service in a namespace that had none: watch opened, leader in the usual time, failover",
  async () => {
    const ns = await plainApp("optin");
    assert.deepEqual(cachedPods(ns), []);

    const started = performance.now();
    await setOptIn(ns, "web", true);
    await leaderIs(env.client, ns, "web-leader", "web-0", 5000);
    const ms = performance.now() - started;
    console.log(`opt-in to leader routed in a namespace with no pod watch before: ${ms.toFixed(0)} ms`);
    assert.ok(h.controller.pods.watchedScopes.includes(ns));
    assert.equal(cachedPods(ns).length, 2);
    // Decided from the namespace's full list, never before it: no "no pods" verdict on the way.
    const reasons = (await eventsFor(env.client, ns, "web")).map((e) => e.reason);
    assert.ok(!reasons.includes("NoPodsFound"), `events: ${reasons}`);

    // The namespace's watch is live: a pod created and a readiness flip after the opt-in are seen.
    await env.kubelet.createPod(ns, { name: "web-2", labels: { app: "web" } });
    await waitFor("web-2 cached", () => Promise.resolve(cachedPods(ns).length === 3 || undefined));
    await env.kubelet.setPodReady(ns, "web-0", false);
    await leaderIs(env.client, ns, "web-leader", "web-1");
  },
);

e2eTest(
  "a Service created opted in, with pods created right after it, gets its leader from the first list",
  async () => {
    const ns = await env.cluster.newNamespace("fresh");
    await createOptedIn(env.client, ns, "web");
    // No pods yet: the Service is decided only after its namespace's (empty) list, then follows the watch.
    await env.kubelet.createPod(ns, { name: "web-0", labels: { app: "web" }, ports: HTTP_PORT });
    await leaderIs(env.client, ns, "web-leader", "web-0", 5000);
  },
);

e2eTest(
  "opting out releases the namespace's watch; two Services in one namespace keep it until the last goes",
  async () => {
    const ns = await webApp(env, "optout");
    await createOptedIn(env.client, ns, "api", { selector: { app: "web" } });
    await leaderIs(env.client, ns, "web-leader", "web-0");
    await leaderIs(env.client, ns, "api-leader", "web-0");

    await setOptIn(ns, "web", false);
    await waitFor(
      "web-leader removed",
      async () => (await getService(env.client, ns, "web-leader")) ? undefined : true,
    );
    assert.ok(h.controller.pods.watchedScopes.includes(ns), "api still opted in: the watch stays");
    assert.equal(cachedPods(ns).length, 2);

    await env.client.delete(Services, ns, "api");
    await waitFor(
      `${ns} pod watch closed`,
      () => Promise.resolve(h.controller.pods.watchedScopes.includes(ns) ? undefined : true),
    );
    assert.deepEqual(cachedPods(ns), []);
    await waitFor(
      "api-leader removed",
      async () => (await getService(env.client, ns, "api-leader")) ? undefined : true,
    );
    // The garbage collector may delete api-leader before the controller's clean-up reconcile drops the series.
    await waitFor("the opted-out Services' series to be gone", async () => {
      const text = await scrape(h.metricsPort);
      const left = text.split("\n").some((l) =>
        l.startsWith("zen_lead_pods_available") && l.includes(`namespace="${ns}"`)
      );
      return left ? undefined : true;
    });

    // Opting back in reopens it, and the leader comes back.
    await setOptIn(ns, "web", true);
    await leaderIs(env.client, ns, "web-leader", "web-0", 5000);
    assert.equal(cachedPods(ns).length, 2);
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
