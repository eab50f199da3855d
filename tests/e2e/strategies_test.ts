/**
 * Strategies on a real API server: every built-in strategy, node-aware with a node gone NotReady, a pool of 2
 * through a failover, priority, the strategy switched at run time, invalid annotations, a user's strategy loaded
 * through the ConfigMap, and the selection and leader-change metrics. One control plane and one controller
 * (under deploy/rbac.yaml) serve the file; every test has its own namespace.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { ConfigMaps, Pods, Services } from "../../core/kube/paths.ts";
import type { Pod } from "../../core/kube/types.ts";
import type { ZenLeadHandle } from "../../app/start.ts";
import { rendezvousWeight } from "../../strategies/hash.ts";
import { CONTROLLER_NS, type E2E, e2eTest, ROOT, startE2EWithController } from "./_env.ts";
import { eventsFor, getService, routedPods, waitFor } from "./_reads.ts";
import { createOptedIn, HTTP_PORT } from "./_fixtures.ts";
import { metric, sample, scrape } from "./_metrics.ts";
import type { PodOptions } from "../harness/kubelet.ts";

let env: E2E;
let h: ZenLeadHandle;

e2eTest("setup: control plane, RBAC from deploy/, controller under its ServiceAccount", async () => {
  ({ env, h } = await startE2EWithController([`--plugin-module-allow=${ROOT}examples/`]));
  assert.equal(h.controller.synced(), true);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pods `web-<i>` labelled app=web, created a second apart (creationTimestamp has second resolution). */
async function agedPods(ns: string, n: number, opts: (i: number) => PodOptions = () => ({})) {
  const pods = [];
  for (let i = 0; i < n; i++) {
    pods.push(
      await env.kubelet.createPod(ns, {
        name: `web-${i}`,
        labels: { app: "web" },
        ports: HTTP_PORT,
        ...opts(i),
      }),
    );
    if (i < n - 1) await sleep(1001);
  }
  return pods;
}

/** Waits until the leader slice routes exactly `names` (in endpoint order); returns the elapsed ms. */
async function routesTo(ns: string, leader: string, names: string[], timeoutMs = 10_000): Promise<number> {
  const t0 = performance.now();
  await waitFor(`${ns}/${leader} routing to [${names}]`, async () => {
    const r = await routedPods(env.client, ns, leader);
    return r && r.join() === names.join() ? true : undefined;
  }, timeoutMs);
  return performance.now() - t0;
}

async function eventWith(ns: string, name: string, reason: string, match: RegExp) {
  return await waitFor(`${reason} event matching ${match} on ${ns}/${name}`, async () => {
    const ev = await eventsFor(env.client, ns, name);
    return ev.find((e) => e.reason === reason && match.test(e.message));
  });
}

/** Routing does not change for `ms` (polled every 100 ms). */
async function staysRouted(ns: string, leader: string, names: string[], ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.deepEqual(await routedPods(env.client, ns, leader), names, `routing of ${ns}/${leader} moved`);
    await sleep(100);
  }
}

async function annotate(ns: string, name: string, annotations: Record<string, string | null>) {
  await env.client.mergePatch(Services, ns, name, { metadata: { annotations } });
}

e2eTest(
  "oldest (default) and newest pick by creation time; selections and initial elections are counted",
  async () => {
    const ns = await env.cluster.newNamespace("age");
    await agedPods(ns, 3);
    const before = await scrape(h.metricsPort);
    await createOptedIn(env.client, ns, "first", { selector: { app: "web" } });
    await createOptedIn(env.client, ns, "last", {
      selector: { app: "web" },
      annotations: { "zen-lead.io/strategy": "newest" },
    });
    await routesTo(ns, "first-leader", ["web-0"]);
    await routesTo(ns, "last-leader", ["web-2"]);
    // Let any duplicate reconcile land before counting.
    await sleep(500);
    const after = await scrape(h.metricsPort);
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    assert.equal(delta("zen_lead_strategy_selections_total", { strategy: "newest" }), 1);
    assert.equal(delta("zen_lead_strategy_selections_total", { strategy: "oldest" }), 1);
    assert.equal(delta("zen_lead_leader_changes_total", { reason: "initial" }), 2);
    assert.equal(delta("zen_lead_failover_count_total", {}), 0, "a first election is not a failover");
  },
);

e2eTest(
  "random: a seeded draw recorded on the leader Service, unchanged by a controller restart",
  async () => {
    const ns = await env.cluster.newNamespace("random");
    const pods = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        env.kubelet.createPod(ns, { name: `web-${i}`, labels: { app: "web" }, ports: HTTP_PORT })
      ),
    );
    // Not sticky: every reconcile redraws from the seed, so only a kept seed keeps the leader.
    await createOptedIn(env.client, ns, "web", {
      annotations: { "zen-lead.io/strategy": "random", "zen-lead.io/sticky": "false" },
    });
    const seed = await waitFor(
      "random seed on web-leader",
      async () =>
        (await getService(env.client, ns, "web-leader"))?.metadata.annotations?.["zen-lead.io/random-seed"],
    );
    const drawn = (alive: typeof pods) =>
      alive.map((p) => ({ name: p.metadata!.name!, w: rendezvousWeight(seed, p.metadata!.uid!) }))
        .sort((a, b) => b.w - a.w)[0].name;
    const expected = drawn(pods);
    await routesTo(ns, "web-leader", [expected]);
    console.log(`random: seed ${seed} draws ${expected} of ${pods.length} pods`);

    // A pod that does not lead goes away: the draw of the others is unchanged (rendezvous hashing).
    const bystander = pods.find((p) => p.metadata!.name !== expected)!;
    await env.kubelet.deletePodGracefully(ns, bystander.metadata!.name!, { graceSeconds: 0 });
    await staysRouted(ns, "web-leader", [expected], 1000);

    await h.stop(2000);
    h = await env.startController([`--plugin-module-allow=${ROOT}examples/`]);
    await h.activated;
    // The new controller reconciles everything once it leads; give it time to do so, then compare.
    await waitFor(
      "restarted controller reconciled web",
      async () =>
        (await metric(h.metricsPort, "zen_lead_reconciliations_total", { result: "success" })) > 0 ||
        undefined,
    );
    await sleep(1000);
    const after = await getService(env.client, ns, "web-leader");
    assert.equal(after?.metadata.annotations?.["zen-lead.io/random-seed"], seed, "seed kept across restart");
    await staysRouted(ns, "web-leader", [expected], 500);
  },
);

e2eTest("node-aware: the leader leaves a NotReady node although its pod still reads Ready", async () => {
  const ns = await env.cluster.newNamespace("nodeaware");
  await env.kubelet.createNode("na-1", { zone: "zone-a" });
  await env.kubelet.createNode("na-2", { zone: "zone-b" });
  await agedPods(ns, 2, (i) => ({ node: `na-${i + 1}` }));
  await createOptedIn(env.client, ns, "web", { annotations: { "zen-lead.io/strategy": "node-aware" } });
  await routesTo(ns, "web-leader", ["web-0"]);
  const failovers = await metric(h.metricsPort, "zen_lead_failover_count_total", { namespace: ns });

  const t0 = performance.now();
  await env.kubelet.setNodeReady("na-1", false);
  await routesTo(ns, "web-leader", ["web-1"], 5000);
  const ms = performance.now() - t0;
  console.log(`node-aware: leader moved off NotReady node in ${ms.toFixed(1)} ms`);
  const pod = await env.client.get<Pod>(Pods, ns, "web-0");
  assert.equal(
    pod.status?.conditions?.find((c) => c.type === "Ready")?.status,
    "True",
    "pod still reads Ready",
  );
  const ev = await eventWith(ns, "web", "LeaderChanged", /web-1/);
  assert.match(
    ev.message,
    /notReady/,
    "a leader lost with its node is a failover, not a strategy preference",
  );
  assert.equal(
    await metric(h.metricsPort, "zen_lead_failover_count_total", { namespace: ns, reason: "notReady" }),
    failovers + 1,
  );

  // Back to Ready: sticky keeps web-1 (a healthy leader is never moved for a preference).
  await env.kubelet.setNodeReady("na-1", true);
  await staysRouted(ns, "web-leader", ["web-1"], 1000);
});

e2eTest(
  "node-aware options: preferred zone from the annotation, a pool spread over zones, an unreachable node left",
  async () => {
    const ns = await env.cluster.newNamespace("nodezone");
    await env.kubelet.createNode("nz-a1", { zone: "zone-a" });
    await env.kubelet.createNode("nz-a2", { zone: "zone-a" });
    await env.kubelet.createNode("nz-b1", { zone: "zone-b" });
    await agedPods(ns, 3, (i) => ({ node: ["nz-a1", "nz-a2", "nz-b1"][i] }));
    await createOptedIn(env.client, ns, "web", {
      annotations: {
        "zen-lead.io/strategy": "node-aware",
        "zen-lead.io/strategy-options": JSON.stringify({ preferredZone: "zone-b" }),
        "zen-lead.io/leader-count": "2",
      },
    });
    // The preferred zone's pod is primary although youngest; the second member comes from the other zone.
    await routesTo(ns, "web-leader", ["web-2", "web-0"]);

    // zone-b's only node stops reporting (Ready Unknown): its pod still reads Ready but leaves the pool.
    await env.kubelet.setNodeReady("nz-b1", "Unknown");
    const routed = await waitFor("pool without web-2", async () => {
      const r = await routedPods(env.client, ns, "web-leader");
      return r && r.length === 2 && !r.includes("web-2") ? r : undefined;
    }, 5000);
    assert.deepEqual(
      routed,
      ["web-0", "web-1"],
      "the surviving member web-0 becomes primary; web-1 (a fresh node) joins",
    );
    await eventWith(ns, "web", "LeaderChanged", /web-0.*reason: notReady/);
  },
);

e2eTest("pool of 2: distinct pods on distinct nodes, still 2 after the primary fails", async () => {
  const ns = await env.cluster.newNamespace("pool");
  await env.kubelet.createNode("pool-1", { zone: "zone-a" });
  await env.kubelet.createNode("pool-2", { zone: "zone-b" });
  // web-0 and web-1 share pool-1; spreading takes web-2 on pool-2 before the older web-1.
  await agedPods(ns, 3, (i) => ({ node: i < 2 ? "pool-1" : "pool-2" }));
  await createOptedIn(env.client, ns, "web", { annotations: { "zen-lead.io/leader-count": "2" } });
  await routesTo(ns, "web-leader", ["web-0", "web-2"]);
  const svc = await getService(env.client, ns, "web-leader");
  assert.equal(svc?.metadata.annotations?.["zen-lead.io/leader-pods"], "web-0,web-2");

  const t0 = performance.now();
  const deleting = env.kubelet.deletePodGracefully(ns, "web-0", { graceSeconds: 3 });
  const routed = await waitFor("pool without web-0", async () => {
    const r = await routedPods(env.client, ns, "web-leader");
    return r && r.length === 2 && !r.includes("web-0") ? r : undefined;
  }, 5000);
  console.log(`pool of 2: primary replaced in ${(performance.now() - t0).toFixed(1)} ms -> [${routed}]`);
  // The surviving member web-2 becomes primary; the only other pod joins.
  assert.deepEqual([...routed].sort(), ["web-1", "web-2"]);
  assert.equal(routed[0], "web-2", "the surviving member, already serving, becomes primary");
  await deleting;
  await staysRouted(ns, "web-leader", routed, 500);
});

e2eTest(
  "strategy switched at run time by editing the annotation (and sticky keeps a leader when on)",
  async () => {
    const ns = await env.cluster.newNamespace("switch");
    await agedPods(ns, 2);
    await createOptedIn(env.client, ns, "web", { annotations: { "zen-lead.io/sticky": "false" } });
    await routesTo(ns, "web-leader", ["web-0"]);
    const before = await metric(h.metricsPort, "zen_lead_leader_changes_total", { reason: "strategy" });
    await annotate(ns, "web", { "zen-lead.io/strategy": "newest" });
    await routesTo(ns, "web-leader", ["web-1"], 5000);
    await eventWith(ns, "web", "LeaderChanged", /web-1.*reason: strategy/);
    assert.equal(
      await metric(h.metricsPort, "zen_lead_leader_changes_total", { reason: "strategy" }),
      before + 1,
    );

    // Sticky again, back to oldest: the healthy leader stays.
    await annotate(ns, "web", { "zen-lead.io/sticky": null, "zen-lead.io/strategy": "oldest" });
    await staysRouted(ns, "web-leader", ["web-1"], 1500);
  },
);

e2eTest("priority (label or annotation) wins before the strategy and before stickiness", async () => {
  const ns = await env.cluster.newNamespace("priority");
  await agedPods(ns, 3, (i) => (i === 2 ? { labels: { app: "web", "zen-lead.io/priority": "10" } } : {}));
  await createOptedIn(env.client, ns, "web");
  await routesTo(ns, "web-leader", ["web-2"]);
  await env.kubelet.createPod(ns, {
    name: "web-3",
    labels: { app: "web" },
    annotations: { "zen-lead.io/priority": "20" },
    ports: HTTP_PORT,
  });
  await routesTo(ns, "web-leader", ["web-3"], 5000);
  await eventWith(ns, "web", "LeaderChanged", /web-3.*reason: priority/);
});

e2eTest(
  "invalid values (unknown strategy, bad leader-count, bad priority) keep routing and say what is valid",
  async () => {
    const ns = await env.cluster.newNamespace("invalid");
    await agedPods(ns, 3);
    await createOptedIn(env.client, ns, "web", {
      annotations: {
        "zen-lead.io/sticky": "false",
        "zen-lead.io/strategy": "newest",
        "zen-lead.io/leader-count": "2",
      },
    });
    await routesTo(ns, "web-leader", ["web-2", "web-1"]);

    await annotate(ns, "web", { "zen-lead.io/strategy": "fastest" });
    const strategy = await eventWith(ns, "web", "InvalidAnnotation", /zen-lead\.io\/strategy/);
    assert.equal(strategy.type, "Warning");
    assert.match(strategy.message, /"fastest"/);
    assert.match(strategy.message, /valid choices: "newest", "node-aware", "oldest", "random"/);
    await staysRouted(ns, "web-leader", ["web-2", "web-1"], 1000);

    await annotate(ns, "web", { "zen-lead.io/leader-count": "zero" });
    const count = await eventWith(ns, "web", "InvalidAnnotation", /zen-lead\.io\/leader-count/);
    assert.match(count.message, /"zero"/);
    assert.match(count.message, /integer from 1 to 64/);
    await staysRouted(ns, "web-leader", ["web-2", "web-1"], 1000);

    // A newer pod would lead (newest, not sticky), but its priority is unreadable: routing stays as it was.
    await sleep(1001);
    await env.kubelet.createPod(ns, {
      name: "web-3",
      labels: { app: "web" },
      annotations: { "zen-lead.io/priority": "urgent" },
      ports: HTTP_PORT,
    });
    const priority = await eventWith(ns, "web", "InvalidAnnotation", /web-3/);
    assert.match(priority.message, /zen-lead\.io\/priority/);
    assert.match(priority.message, /"urgent"/);
    assert.match(priority.message, /integer from -1000 to 1000/);
    await staysRouted(ns, "web-leader", ["web-2", "web-1"], 1000);
  },
);

e2eTest("a user's own strategy loaded through the ConfigMap and used by a Service", async () => {
  const config = {
    // Per-strategy defaults for every Service that gives no options of its own.
    defaults: { strategyOptions: { "node-aware": { preferredZone: "zone-b" } } },
    plugins: [{
      name: "zone-first",
      module: `${ROOT}examples/zone-first-strategy.ts`,
      options: { preferredZone: "zone-b" },
    }],
  };
  await env.client.create(ConfigMaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "zen-lead-config", namespace: CONTROLLER_NS },
    data: { "config.yaml": stringify(config) },
  });
  await waitFor(
    "zone-first registered",
    () => Promise.resolve(h.kernel.names("strategy").includes("zone-first") || undefined),
  );

  const ns = await env.cluster.newNamespace("userstrategy");
  await env.kubelet.createNode("uz-1", { zone: "zone-a" });
  await env.kubelet.createNode("uz-2", { zone: "zone-b" });
  await agedPods(ns, 2, (i) => ({ node: `uz-${i + 1}` }));
  await createOptedIn(env.client, ns, "web", {
    annotations: { "zen-lead.io/strategy": "zone-first", "zen-lead.io/sticky": "false" },
  });
  // The plugin-level zone (ConfigMap options) beats age: the younger pod in zone-b leads.
  await routesTo(ns, "web-leader", ["web-1"]);
  // A built-in strategy gets its ConfigMap defaults too.
  await createOptedIn(env.client, ns, "aware", {
    selector: { app: "web" },
    annotations: { "zen-lead.io/strategy": "node-aware" },
  });
  await routesTo(ns, "aware-leader", ["web-1"]);
  // Per-Service options reach the user's strategy too.
  await annotate(ns, "web", {
    "zen-lead.io/strategy-options": JSON.stringify({ preferredZone: "zone-a" }),
  });
  await routesTo(ns, "web-leader", ["web-0"], 5000);
  // Counted in the reconcile's report, just after the slice write the wait above saw.
  await waitFor(
    "two zone-first selections counted",
    async () =>
      (await metric(h.metricsPort, "zen_lead_strategy_selections_total", { strategy: "zone-first" })) ===
        2 ||
      undefined,
  );
});

e2eTest("teardown", async () => {
  await env?.stop();
});
