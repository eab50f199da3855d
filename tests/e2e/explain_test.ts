/**
 * `zen-lead explain` on a real API server (run through the CLI entry, with the admin's kubeconfig)
 * agrees with the running controller for each strategy, a pool, priority, min-ready (it names the time the pod
 * qualifies), node-aware with a NotReady node and an invalid annotation; its JSON validates against the published
 * schema; `zen-lead status` lists the Services with their last failover and its latency.
 */
import assert from "node:assert/strict";
import { Pods, Services } from "../../core/kube/paths.ts";
import type { Pod } from "../../core/kube/types.ts";
import type { ZenLeadHandle } from "../../app/start.ts";
import { kernelParts } from "../../app/start.ts";
import { runCli } from "../../app/cli/main.ts";
import type { Explanation } from "../../core/explain/model.ts";
import type { StatusReport } from "../../app/cli/status.ts";
import { validate } from "../unit/_json_schema.ts";
import { podAddress, startHttpTarget } from "./_servers.ts";
import { CONTROLLER_NS, type E2E, e2eTest, ROOT, startE2EWithController } from "./_env.ts";
import { leaderIs, routedPods, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn, webApp } from "./_fixtures.ts";

let env: E2E;
let h: ZenLeadHandle;
const SCHEMA = JSON.parse(await Deno.readTextFile(ROOT + "schemas/explain.schema.json"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The controller's identity in the Lease, and the name of the pod that stands for it. */
const IDENTITY = "zen-lead-explain-e2e";

e2eTest("setup: control plane, controller under its ServiceAccount", async () => {
  // Metrics (and /status) on this machine's interface address: the API server's pod proxy can reach it there.
  ({ env, h } = await startE2EWithController([`--metrics-bind-address=${podAddress()}:0`], {
    env: { POD_NAME: IDENTITY },
  }));
});

/** Runs the CLI in this process as a user would run it; returns stdout (stderr fails the test). */
async function cli(args: string[]): Promise<string> {
  let out = "";
  let err = "";
  const code = await runCli(args, kernelParts(), {
    out: (t) => out += t,
    err: (t) => err += t,
    env: {},
  });
  assert.equal(code, 0, `zen-lead ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

const common = () => [
  "--kubeconfig",
  env.cluster.kubeconfigPath,
  "--status-url",
  `http://${podAddress()}:${h.metricsPort}/status`,
];

async function explain(ns: string, svc: string): Promise<Explanation> {
  const doc = JSON.parse(await cli(["explain", `${ns}/${svc}`, "-o", "json", ...common()]));
  assert.deepEqual(
    validate(SCHEMA, doc),
    [],
    "explain -o json validates against schemas/explain.schema.json",
  );
  return doc;
}

/** Explain's decision equals what the controller routes, and it keeps it. */
async function agrees(ns: string, svc: string): Promise<Explanation> {
  // Let any reconcile in flight land before comparing.
  await sleep(300);
  const routed = await routedPods(env.client, ns, `${svc}-leader`) ?? [];
  const e = await explain(ns, svc);
  assert.deepEqual(e.decision.routes, routed, `explain ${ns}/${svc} routes what the controller routes`);
  assert.deepEqual(e.currentLeaders, routed);
  if (routed.length > 0) assert.equal(e.decision.keepsCurrent, true);
  // Fail-closed ports: the controller chose a leader whose slice routes nowhere; the routes say so above.
  if (!e.warnings.some((w) => /PortResolutionFailed/.test(w.kind))) {
    assert.deepEqual(e.decision.leaders, routed, `explain ${ns}/${svc} decides what the controller decided`);
    for (const c of e.candidates) assert.equal(c.wouldLead, routed.includes(c.pod), `wouldLead of ${c.pod}`);
  }
  return e;
}

async function routes(ns: string, svc: string, names: string[]) {
  await waitFor(`${ns}/${svc}-leader routing to [${names}]`, async () => {
    const r = await routedPods(env.client, ns, `${svc}-leader`);
    return r && r.join() === names.join() ? true : undefined;
  });
}

e2eTest("explain agrees with the controller for oldest, newest and random, and ranks every pod", async () => {
  const ns = await env.cluster.newNamespace("explain-age");
  await agedPods(env.kubelet, ns, ["web-0", "web-1", "web-2"]);
  for (const [name, strategy] of [["first", "oldest"], ["last", "newest"], ["any", "random"]]) {
    await createOptedIn(env.client, ns, name, {
      selector: { app: "web" },
      annotations: { "zen-lead.io/strategy": strategy },
    });
  }
  await routes(ns, "first", ["web-0"]);
  await routes(ns, "last", ["web-2"]);
  await waitFor(
    "random to route",
    async () => (await routedPods(env.client, ns, "any-leader"))?.length || undefined,
  );
  const oldest = await agrees(ns, "first");
  assert.deepEqual(oldest.candidates.map((c) => c.rank), [1, 2, 3]);
  assert.deepEqual(oldest.settings.strategy, { value: "oldest", source: "annotation" });
  const newest = await agrees(ns, "last");
  assert.deepEqual(newest.candidates.map((c) => c.rank), [3, 2, 1]);
  await agrees(ns, "any");
});

e2eTest(
  "explain agrees for a pool of 2 and for priority; the text output names the leader and the ranks",
  async () => {
    const ns = await env.cluster.newNamespace("explain-pool");
    await agedPods(env.kubelet, ns, ["web-0", "web-1", "web-2"]);
    await createOptedIn(env.client, ns, "pool", {
      selector: { app: "web" },
      annotations: { "zen-lead.io/leader-count": "2" },
    });
    await routes(ns, "pool", ["web-0", "web-1"]);
    const pool = await agrees(ns, "pool");
    assert.deepEqual(pool.settings.leaderCount, { value: 2, source: "annotation" });

    await env.kubelet.createPod(ns, {
      name: "vip",
      labels: { app: "vip" },
      annotations: { "zen-lead.io/priority": "10" },
      ports: [{ name: "http", containerPort: 8080 }],
    });
    await agedPods(env.kubelet, ns, ["low"], { labels: { app: "vip" } });
    await createOptedIn(env.client, ns, "prio", { selector: { app: "vip" } });
    await routes(ns, "prio", ["vip"]);
    const prio = await agrees(ns, "prio");
    assert.equal(prio.candidates.find((c) => c.pod === "vip")!.priority.value, 10);

    const text = await cli(["explain", `${ns}/prio`, ...common()]);
    assert.match(text, /^Service explain-pool-\w+\/prio \(opted in\) -> leader Service .*\/prio-leader$/m);
    assert.match(
      text,
      /^ {2}vip +Running +True since \S+ +\S+ +\S+ \(Ready\) +- +10 +not checked +1 +leader, kept$/m,
    );
    assert.match(text, /decision: +vip; the controller keeps the current leader/);
  },
);

e2eTest(
  "explain under min-ready names the moment the pod qualifies, and agrees before and after it",
  async () => {
    const ns = await env.cluster.newNamespace("explain-minready");
    await env.kubelet.createPod(ns, {
      name: "web-0",
      labels: { app: "web" },
      ports: [{ name: "http", containerPort: 8080 }],
    });
    await createOptedIn(env.client, ns, "web", { annotations: { "zen-lead.io/min-ready-duration": "4s" } });
    await sleep(500);
    const e = await agrees(ns, "web");
    assert.deepEqual(e.decision.leaders, []);
    const pod = await env.client.get<Pod>(Pods, ns, "web-0");
    const since = Date.parse(pod.status!.conditions!.find((c) => c.type === "Ready")!.lastTransitionTime!);
    const at = new Date(since + 4000).toISOString();
    const c = e.candidates[0];
    assert.deepEqual(c.minReady, { qualifiesAt: at, qualified: false });
    assert.equal(c.verdict, `not eligible yet: min-ready qualifies at ${at}`);
    assert.equal(e.decision.requeueAt, at);
    // The controller requeued itself for that moment: then both say web-0.
    await leaderIs(env.client, ns, "web-leader", "web-0", 10_000);
    const after = await agrees(ns, "web");
    assert.equal(after.candidates[0].minReady?.qualified, true);
  },
);

e2eTest(
  "explain agrees for node-aware with a NotReady node and says why the pod there does not lead",
  async () => {
    const ns = await env.cluster.newNamespace("explain-node");
    await env.kubelet.createNode("xn-1", { zone: "zone-a" });
    await env.kubelet.createNode("xn-2", { zone: "zone-b" });
    await env.kubelet.createPod(ns, {
      name: "web-0",
      labels: { app: "web" },
      node: "xn-1",
      ports: [{ name: "http", containerPort: 8080 }],
    });
    await sleep(1001);
    await env.kubelet.createPod(ns, {
      name: "web-1",
      labels: { app: "web" },
      node: "xn-2",
      ports: [{ name: "http", containerPort: 8080 }],
    });
    await createOptedIn(env.client, ns, "web", { annotations: { "zen-lead.io/strategy": "node-aware" } });
    await routes(ns, "web", ["web-0"]);
    await agrees(ns, "web");
    await env.kubelet.setNodeReady("xn-1", false);
    await routes(ns, "web", ["web-1"]);
    const e = await agrees(ns, "web");
    const stale = e.candidates.find((c) => c.pod === "web-0")!;
    assert.equal(stale.ready, true, "the pod itself still reads Ready");
    assert.equal(stale.node?.ready, false);
    assert.equal(stale.verdict, "not ranked by strategy node-aware (node xn-1 is NotReady)");
    await env.kubelet.setNodeReady("xn-1", true);
  },
);

e2eTest(
  "explain reports an invalid annotation and, from the controller's status, the last good value it keeps",
  async () => {
    const ns = await webApp(env, "explain-invalid", ["web-0", "web-1"], {
      annotations: { "zen-lead.io/strategy": "newest", "zen-lead.io/sticky": "false" },
    });
    await routes(ns, "web", ["web-1"]);
    await env.client.mergePatch(Services, ns, "web", {
      metadata: { annotations: { "zen-lead.io/strategy": "fastest", "zen-lead.io/sticky": "maybe" } },
    });
    await sleep(500);
    const e = await agrees(ns, "web");
    // The controller kept newest and non-sticky: explain shows what it decides with, not the defaults.
    assert.deepEqual(e.settings.strategy, {
      value: "newest",
      source: "last good value",
      invalidAnnotation: "fastest",
    });
    assert.deepEqual(e.settings.sticky, {
      value: false,
      source: "last good value",
      invalidAnnotation: "maybe",
    });
    assert.deepEqual(e.candidates.map((c) => [c.pod, c.rank]), [["web-0", 2], ["web-1", 1]]);
    const kinds = e.warnings.filter((w) => w.kind === "InvalidAnnotation").map((w) => w.message);
    assert.ok(
      kinds.some((m) => /zen-lead\.io\/strategy: valid choices: .*received "fastest"/.test(m)),
      kinds.join("\n"),
    );
    assert.ok(kinds.some((m) => /zen-lead\.io\/sticky: valid choices: .*received "maybe"/.test(m)));
    assert.equal(e.healthSource.reachable, true, "the controller's status endpoint answered");

    // Without the controller explain cannot know the last good value: it says so and shows the default.
    const blind = JSON.parse(
      await cli(["explain", `${ns}/web`, "-o", "json", "--kubeconfig", env.cluster.kubeconfigPath]),
    ) as Explanation;
    assert.deepEqual(blind.settings.strategy, {
      value: "oldest",
      source: "built-in",
      invalidAnnotation: "fastest",
    });
    assert.ok(
      blind.warnings.some((w) =>
        /which only its status endpoint knows; the default is shown/.test(w.message)
      ),
    );
  },
);

e2eTest(
  "explain agrees that a leader without the Service's named port routes nowhere (fail-closed)",
  async () => {
    const ns = await webApp(env, "explain-ports", ["web-0", "web-1"], {
      ports: [
        { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
        { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" },
      ],
    });
    await waitFor("the leader slice", async () => await routedPods(env.client, ns, "web-leader"));
    const e = await agrees(ns, "web");
    assert.deepEqual([e.decision.leaders, e.decision.routes], [["web-0"], []]);
    assert.match(e.ports[1].error ?? "", /named port "metrics", which pod web-0 does not declare/);
    assert.ok(e.warnings.some((w) => w.kind === "NamedPortResolutionFailed"));
  },
);

e2eTest(
  "explain shows HTTP health as the controller reported it, and agrees after an unhealthy leader fails over",
  async () => {
    const ns = await env.cluster.newNamespace("explain-health");
    const targets = [startHttpTarget(podAddress()), startHttpTarget(podAddress())];
    try {
      for (const [i, t] of targets.entries()) {
        await env.kubelet.createPod(ns, {
          name: `web-${i}`,
          labels: { app: "web" },
          ip: t.ip,
          ports: [{ name: "http", containerPort: t.port }],
        });
        if (i === 0) await sleep(1001);
      }
      const check = {
        type: "http",
        port: "http",
        path: "/healthz",
        intervalSeconds: 0.5,
        failureThreshold: 2,
      };
      await createOptedIn(env.client, ns, "web", {
        annotations: { "zen-lead.io/health-check": JSON.stringify(check) },
      });
      await routes(ns, "web", ["web-0"]);
      targets[0].mode = "fail";
      await routes(ns, "web", ["web-1"]);
      const e = await agrees(ns, "web");
      const by = new Map(e.candidates.map((c) => [c.pod, c]));
      assert.equal(by.get("web-0")!.health.state, "unhealthy");
      assert.equal(by.get("web-0")!.health.reason, "HTTP 500 (expected 200-399)");
      assert.equal(by.get("web-0")!.verdict, "excluded: unhealthy (HTTP 500 (expected 200-399))");
      assert.equal(by.get("web-1")!.health.state, "healthy");
      assert.equal(e.settings.healthCheck.source, "annotation");
    } finally {
      for (const t of targets) await t.close();
    }
  },
);

e2eTest(
  "explain without a reachable status endpoint says so; status lists failovers with their latency",
  async () => {
    const ns = await webApp(env, "explain-status");
    await routes(ns, "web", ["web-0"]);
    const offline = JSON.parse(
      await cli(["explain", `${ns}/web`, "-o", "json", "--kubeconfig", env.cluster.kubeconfigPath]),
    ) as Explanation;
    assert.equal(offline.healthSource.reachable, false);
    assert.match(offline.healthSource.message, /status endpoint .* is not reachable: .*pass --status-url/);

    await env.kubelet.setPodReady(ns, "web-0", false);
    await routes(ns, "web", ["web-1"]);
    const report = JSON.parse(await cli(["status", "-n", ns, "-o", "json", ...common()])) as StatusReport;
    const row = report.services.find((s) => s.name === "web")!;
    assert.equal(row.leader, "web-1");
    assert.equal(row.lastFailover?.reason, "notReady");
    assert.equal(row.lastFailover?.from, "web-0");
    assert.equal(row.lastFailover?.to, "web-1");
    assert.ok((row.lastFailover?.latencyMs ?? -1) >= 0, "latency from the controller");
    assert.ok(row.leaderSince, "leader-last-switch-time");
    const text = await cli(["status", "-n", ns, ...common()]);
    assert.match(
      text,
      new RegExp(`^${ns} +web +web-1 +\\S+ +notReady \\S+ ago \\(web-0 -> web-1\\) +[\\d.]+ ms +none$`, "m"),
    );
  },
);

e2eTest(
  "explain finds the active replica by its Lease and reads /status through the API server's pod proxy",
  async () => {
    const ns = await webApp(env, "explain-proxy");
    await routes(ns, "web", ["web-0"]);
    // The controller's pod, as a Deployment would run it: named as its identity, its IP where /status listens.
    await env.kubelet.createPod(CONTROLLER_NS, {
      name: IDENTITY,
      labels: { app: "zen-lead" },
      ip: podAddress(),
      ports: [{ name: "metrics", containerPort: h.metricsPort }],
    });
    const e = JSON.parse(
      await cli([
        "explain",
        `${ns}/web`,
        "-o",
        "json",
        "--kubeconfig",
        env.cluster.kubeconfigPath,
        "--metrics-port",
        String(h.metricsPort),
      ]),
    ) as Explanation;
    assert.equal(e.healthSource.reachable, true, e.healthSource.message);
    assert.match(
      e.healthSource.message,
      new RegExp(
        `pod ${CONTROLLER_NS}/${IDENTITY} through the API server proxy\\): the active replica ${IDENTITY}`,
      ),
    );
  },
);

e2eTest("teardown", () => env.stop());
