/**
 * The controller's behaviour rules on a real API server: names, collisions, Service types, IPv6, selector changes, min-ready-duration
 * and rolling replacements. One control plane and one controller (under deploy/rbac.yaml) serve the file.
 */
import assert from "node:assert/strict";
import { EndpointSlices, Services } from "../../core/kube/paths.ts";
import type { EndpointSlice, Service } from "../../core/kube/types.ts";
import { type E2E, e2eTest, startE2EWithController } from "./_env.ts";
import { eventOf, getService, getSlice, leaderIs, routedPods, waitFor } from "./_reads.ts";
import { createOptedIn, HTTP_PORT, optedInService } from "./_fixtures.ts";

let env: E2E;
let metricsPort = 0;

e2eTest("setup: control plane and controller", async () => {
  ({ env, h: { metricsPort } } = await startE2EWithController());
});

const gone = (p: Promise<unknown>) => p.then((v) => v ? undefined : true);

e2eTest("custom leader name, then a rename: new objects route, the old ones are deleted", async () => {
  const ns = await env.cluster.newNamespace("rename");
  await env.kubelet.createPod(ns, { name: "web-0", labels: { app: "web" }, ports: HTTP_PORT });
  await createOptedIn(env.client, ns, "web", {
    annotations: { "zen-lead.io/leader-service-name": "primary" },
  });
  await leaderIs(env.client, ns, "primary", "web-0");
  assert.equal(await getService(env.client, ns, "web-leader"), undefined);
  await env.client.mergePatch(Services, ns, "web", {
    metadata: { annotations: { "zen-lead.io/leader-service-name": "main" } },
  });
  await leaderIs(env.client, ns, "main", "web-0");
  await waitFor("old Service deleted", () => gone(getService(env.client, ns, "primary")));
  await waitFor("old slice deleted", () => gone(getSlice(env.client, ns, "primary")));
  // An invalid name keeps routing where it is and says why.
  await env.client.mergePatch(Services, ns, "web", {
    metadata: { annotations: { "zen-lead.io/leader-service-name": "Not_Valid" } },
  });
  await eventOf(env.client, ns, "web", "InvalidAnnotation", "zen-lead.io/leader-service-name");
  assert.deepEqual(await routedPods(env.client, ns, "main"), ["web-0"]);
  assert.equal(
    await getService(env.client, ns, "web-leader"),
    undefined,
    "no fall-back to the default name",
  );
});

e2eTest(
  "an unmanaged Service named <svc>-leader is left untouched, with a LeaderNameConflict event",
  async () => {
    const ns = await env.cluster.newNamespace("conflict");
    await env.kubelet.createPod(ns, { name: "web-0", labels: { app: "web" }, ports: HTTP_PORT });
    const theirs = await env.client.create<Service>(Services, {
      metadata: { name: "web-leader", namespace: ns, labels: { owner: "someone-else" } },
      spec: { selector: { app: "other" }, ports: [{ port: 1234 }] },
    });
    await createOptedIn(env.client, ns, "web");
    await eventOf(env.client, ns, "web", "LeaderNameConflict");
    const after = await getService(env.client, ns, "web-leader");
    assert.equal(after?.metadata.resourceVersion, theirs.metadata.resourceVersion, "not modified");
    assert.equal(
      await getSlice(env.client, ns, "web-leader"),
      undefined,
      "no slice for a name we do not own",
    );
    // Removing the annotation must not delete the stranger's Service either.
    await env.client.mergePatch(Services, ns, "web", {
      metadata: { annotations: { "zen-lead.io/enabled": null } },
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await getService(env.client, ns, "web-leader"), "still there");
  },
);

e2eTest(
  "a stranger's EndpointSlice named <svc>-leader is left untouched, with a LeaderNameConflict event",
  async () => {
    const ns = await env.cluster.newNamespace("sliceconflict");
    await env.kubelet.createPod(ns, { name: "web-0", labels: { app: "web" }, ports: HTTP_PORT });
    const theirs = await env.client.create<EndpointSlice>(EndpointSlices, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "web-leader", namespace: ns, labels: { "kubernetes.io/service-name": "other" } },
      addressType: "IPv4",
      endpoints: [],
      ports: [],
    });
    await createOptedIn(env.client, ns, "web");
    await eventOf(env.client, ns, "web", "LeaderNameConflict", "EndpointSlice");
    const after = await getSlice(env.client, ns, "web-leader");
    assert.equal(after?.metadata.resourceVersion, theirs.metadata.resourceVersion, "not modified");
    assert.equal(await getService(env.client, ns, "web-leader"), undefined, "no half-made leader Service");
    // No create-and-delete loop: the name is looked at again only every 30 s.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await getService(env.client, ns, "web-leader"), undefined);
    assert.equal(
      (await getSlice(env.client, ns, "web-leader"))?.metadata.resourceVersion,
      theirs.metadata.resourceVersion,
    );
  },
);

e2eTest("NodePort and LoadBalancer sources: type mirrored, the source's nodePort never copied", async () => {
  const ns = await env.cluster.newNamespace("types");
  await env.kubelet.createPod(ns, { name: "web-0", labels: { app: "web" }, ports: HTTP_PORT });
  for (const type of ["NodePort", "LoadBalancer"]) {
    const name = type.toLowerCase();
    const src = await createOptedIn(env.client, ns, name, { type, selector: { app: "web" } });
    const srcPort = src.spec?.ports?.[0].nodePort;
    const leader = await waitFor(`${name}-leader`, () => getService(env.client, ns, `${name}-leader`));
    assert.equal(leader.spec?.type, type);
    assert.ok(srcPort, "the source got a nodePort");
    assert.notEqual(leader.spec?.ports?.[0].nodePort, srcPort, "nodePort not copied (it would conflict)");
    await leaderIs(env.client, ns, `${name}-leader`, "web-0");
  }
});

e2eTest("headless source yields a ClusterIP leader Service", async () => {
  const ns = await env.cluster.newNamespace("headless");
  await env.kubelet.createPod(ns, { name: "db-0", labels: { app: "db" }, ports: HTTP_PORT });
  const svc = optedInService(ns, "db");
  svc.spec!.clusterIP = "None";
  await env.client.create<Service>(Services, svc);
  const leader = await waitFor("db-leader", () => getService(env.client, ns, "db-leader"));
  assert.equal(leader.spec?.type, "ClusterIP");
  assert.notEqual(leader.spec?.clusterIP, "None");
  await leaderIs(env.client, ns, "db-leader", "db-0");
});

e2eTest("an IPv6 pod: IPv6 leader Service and an IPv6 EndpointSlice", async () => {
  const ns = await env.cluster.newNamespace("ipv6");
  await env.kubelet.createPod(ns, {
    name: "web-0",
    labels: { app: "web" },
    ports: HTTP_PORT,
    ip: "fd00:10:244::15",
  });
  await createOptedIn(env.client, ns, "web");
  const slice = await waitFor("IPv6 slice", async () => {
    const s = await getSlice(env.client, ns, "web-leader");
    return s?.endpoints?.length ? s : undefined;
  });
  assert.equal(slice.addressType, "IPv6");
  assert.deepEqual(slice.endpoints![0].addresses, ["fd00:10:244::15"]);
  const svc = await getService(env.client, ns, "web-leader");
  assert.deepEqual(svc?.spec?.ipFamilies, ["IPv6"]);
});

e2eTest("selector change: the leader moves to the newly selected pods", async () => {
  const ns = await env.cluster.newNamespace("selector");
  await env.kubelet.createPod(ns, {
    name: "blue-0",
    labels: { app: "web", color: "blue" },
    ports: HTTP_PORT,
  });
  await env.kubelet.createPod(ns, {
    name: "green-0",
    labels: { app: "web", color: "green" },
    ports: HTTP_PORT,
  });
  await createOptedIn(env.client, ns, "web", { selector: { app: "web", color: "blue" } });
  await leaderIs(env.client, ns, "web-leader", "blue-0");
  await env.client.mergePatch(Services, ns, "web", { spec: { selector: { color: "green" } } });
  await leaderIs(env.client, ns, "web-leader", "green-0");
});

e2eTest("min-ready-duration: a fresh pod waits, then leads through a requeue (no other event)", async () => {
  const ns = await env.cluster.newNamespace("minready");
  await createOptedIn(env.client, ns, "web", { annotations: { "zen-lead.io/min-ready-duration": "3s" } });
  const t0 = Date.now();
  await env.kubelet.createPod(ns, { name: "web-0", labels: { app: "web" }, ports: HTTP_PORT });
  await waitFor("slice", () => getSlice(env.client, ns, "web-leader"));
  assert.deepEqual(await routedPods(env.client, ns, "web-leader"), [], "not before 3 s of readiness");
  await leaderIs(env.client, ns, "web-leader", "web-0", 10_000);
  const waited = Date.now() - t0;
  console.log(`min-ready-duration 3s: leader after ${waited} ms`);
  assert.ok(waited >= 2000, `leader after ${waited} ms, min-ready-duration is 3 s`);
});

e2eTest(
  "rolling replacement of all pods: exactly one leader change per loss of the actual leader",
  async () => {
    const ns = await env.cluster.newNamespace("rollout");
    const old: string[] = [];
    for (let i = 0; i < 3; i++) {
      old.push(
        (await env.kubelet.createPod(ns, { name: `v1-${i}`, labels: { app: "web" }, ports: HTTP_PORT }))
          .metadata!.name!,
      );
    }
    await createOptedIn(env.client, ns, "web");
    const first = await waitFor(
      "a leader",
      async () => (await routedPods(env.client, ns, "web-leader"))?.[0],
    );
    const seen: string[] = [first];
    let stop = false;
    const watcher = (async () => {
      while (!stop) {
        const r = (await routedPods(env.client, ns, "web-leader"))?.[0];
        if (r && r !== seen[seen.length - 1]) seen.push(r);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    // Like a Deployment rollout: a new pod becomes Ready, then an old one terminates, one at a time.
    let leaderLosses = 0;
    for (let i = 0; i < 3; i++) {
      await env.kubelet.createPod(ns, { name: `v2-${i}`, labels: { app: "web" }, ports: HTTP_PORT });
      await new Promise((r) => setTimeout(r, 300));
      const current = (await routedPods(env.client, ns, "web-leader"))?.[0];
      if (current === old[i]) leaderLosses++;
      await env.kubelet.deletePodGracefully(ns, old[i], { graceSeconds: 1 });
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await watcher;
    console.log(`rollout leaders: ${seen.join(" -> ")} (${leaderLosses} losses of the actual leader)`);
    assert.equal(seen.length - 1, leaderLosses, `leader changes ${seen.join(" -> ")}`);
    const final = (await routedPods(env.client, ns, "web-leader"))?.[0];
    assert.match(final ?? "", /^v2-/);
  },
);

e2eTest(
  "metrics: failover counted with its reason and latency observed; the first election is not a failover",
  async () => {
    const ns = await env.cluster.newNamespace("metrics");
    await env.kubelet.createPod(ns, { name: "a", labels: { app: "web" }, ports: HTTP_PORT });
    await env.kubelet.createPod(ns, { name: "b", labels: { app: "web" }, ports: HTTP_PORT });
    await createOptedIn(env.client, ns, "web");
    const leader = await waitFor("leader", async () => (await routedPods(env.client, ns, "web-leader"))?.[0]);
    const scrape = async () => {
      const h = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return await h.text();
    };
    const before = await scrape();
    assert.ok(
      !new RegExp(`zen_lead_failover_count_total\\{namespace="${ns}"`).test(before),
      "no failover yet",
    );
    await env.kubelet.setPodReady(ns, leader, false);
    await waitFor(
      "moved",
      async () => (await routedPods(env.client, ns, "web-leader"))?.[0] !== leader || undefined,
    );
    const after = await waitFor("failover metric", async () => {
      const t = await scrape();
      return t.includes(`zen_lead_failover_count_total{namespace="${ns}",service="web",reason="notReady"} 1`)
        ? t
        : undefined;
    });
    assert.match(after, /zen_lead_failover_latency_seconds_count\{reason="notReady"\} [1-9]/);
    assert.match(after, /# TYPE zen_lead_api_call_duration_seconds histogram/);
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
