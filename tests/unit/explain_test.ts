/**
 * `zen-lead explain` without a cluster: the text output against a committed snapshot, the JSON output against
 * the published schema, and the reasons it gives for min-ready, node state, priority, health and settings.
 * Regenerate the snapshot with UPDATE_SNAPSHOTS=1 after an intended change of the text.
 */
import assert from "node:assert/strict";
import { kernelParts } from "../../app/start.ts";
import { explainService, type HealthReport } from "../../core/explain/explain.ts";
import { explainKernel } from "../../core/explain/read.ts";
import { renderText } from "../../core/explain/render_text.ts";
import { settingsContextOf } from "../../core/plugin/settings_context.ts";
import type { ConfigMap, EndpointSlice, Node, Pod, Service } from "../../core/kube/types.ts";
import type { ProbeState } from "../../core/probing/threshold.ts";
import { pod, service } from "./_leader_fixtures.ts";
import { validate } from "./_json_schema.ts";

const NOW = Date.parse("2026-12-01T10:00:00Z");
const SNAPSHOT = new URL("./__snapshots__/explain_text.txt", import.meta.url);
const SCHEMA = JSON.parse(
  await Deno.readTextFile(new URL("../../schemas/explain.schema.json", import.meta.url)),
);

function node(name: string, ready: "True" | "False" | "Unknown", zone: string): Node {
  return {
    metadata: { name, labels: { "topology.kubernetes.io/zone": zone } },
    status: { conditions: [{ type: "Ready", status: ready }] },
  } as Node;
}

function managed(leaderPod: Pod): { services: Service[]; slices: EndpointSlice[] } {
  const labels = { "app.kubernetes.io/managed-by": "zen-lead", "zen-lead.io/source-service": "web" };
  return {
    services: [{ metadata: { name: "web-leader", namespace: "ns", labels, annotations: {} } }],
    slices: [{
      metadata: { name: "web-leader", namespace: "ns", labels },
      addressType: "IPv4",
      endpoints: [{
        addresses: [leaderPod.status!.podIP!],
        targetRef: { kind: "Pod", name: leaderPod.metadata.name, uid: leaderPod.metadata.uid },
      }],
    } as EndpointSlice],
  };
}

const configMap: ConfigMap = {
  metadata: { name: "zen-lead-config", namespace: "zen-lead-system", resourceVersion: "42" },
  data: { "config.yaml": "defaults:\n  strategy: node-aware\n" },
};

const noHealth: HealthReport = {
  reachable: false,
  message: "status endpoint not asked (unit test)",
  states: new Map(),
};

async function explainScenario(health: HealthReport = noHealth, annotations: Record<string, string> = {}) {
  const k = await explainKernel(configMap, kernelParts());
  const ago = (s: number) => NOW - s * 1000;
  const pods = [
    pod({ name: "web-a", ip: "10.0.0.1", created: ago(600), readySince: ago(500), node: "node-a" }),
    pod({ name: "web-b", ip: "10.0.0.2", created: ago(590), readySince: ago(10), node: "node-a" }),
    pod({ name: "web-c", ip: "10.0.0.3", created: ago(580), ready: false, node: "node-a" }),
    pod({ name: "web-d", ip: "10.0.0.4", created: ago(570), readySince: ago(500), terminating: true }),
    pod({ name: "web-e", ip: "10.0.0.5", created: ago(560), readySince: ago(500), node: "node-b" }),
    pod({
      name: "web-f",
      ip: "10.0.0.6",
      created: ago(550),
      readySince: ago(500),
      node: "node-a",
      annotations: { "zen-lead.io/priority": "high" },
    }),
    pod({ name: "web-g", ip: "10.0.0.7", created: ago(540), readySince: ago(500), node: "node-c" }),
  ];
  const m = managed(pods[0]);
  const e = explainService({
    service: service({
      annotations: { "zen-lead.io/min-ready-duration": "30s", "zen-lead.io/sticky": "yes", ...annotations },
    }),
    pods,
    nodes: [
      node("node-a", "True", "zone-a"),
      node("node-b", "False", "zone-b"),
      node("node-c", "True", "zone-c"),
    ],
    managedServices: m.services,
    managedSlices: m.slices,
    ctx: settingsContextOf(k.kernel, k.defaults),
    configDefaults: k.defaults,
    configuration: k.configuration,
    strategy: (n) => k.kernel.strategy(n),
    health,
    now: NOW,
    warnings: k.warnings,
  });
  await k.kernel.close();
  return e;
}

Deno.test("explain text output matches the committed snapshot", async () => {
  const text = renderText(await explainScenario());
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") await Deno.writeTextFile(SNAPSHOT, text);
  assert.equal(text, await Deno.readTextFile(SNAPSHOT));
});

Deno.test("explain names each setting's source, the min-ready time, the NotReady node and the bad priority", async () => {
  const e = await explainScenario();
  assert.deepEqual(e.settings.strategy, { value: "node-aware", source: "ConfigMap default" });
  assert.deepEqual(e.settings.minReadyDuration, { value: "30s", source: "annotation" });
  assert.deepEqual(e.settings.sticky, { value: true, source: "built-in", invalidAnnotation: "yes" });
  assert.equal(e.settings.leaderCount.source, "built-in");
  const by = new Map(e.candidates.map((c) => [c.pod, c]));
  assert.equal(by.get("web-a")!.verdict, "leader, kept");
  assert.equal(by.get("web-b")!.minReady!.qualifiesAt, "2026-12-01T10:00:20.000Z");
  assert.match(by.get("web-b")!.verdict, /min-ready qualifies at 2026-12-01T10:00:20.000Z/);
  assert.equal(by.get("web-c")!.verdict, "not eligible: notReady");
  assert.equal(by.get("web-d")!.verdict, "not eligible: terminating");
  assert.equal(by.get("web-e")!.node!.ready, false);
  assert.equal(by.get("web-e")!.rank, undefined);
  assert.equal(by.get("web-e")!.verdict, "not ranked by strategy node-aware (node node-b is NotReady)");
  assert.equal(by.get("web-f")!.priority.error !== undefined, true);
  assert.equal(e.decision.keepsCurrent, true);
  assert.equal(e.decision.requeueAt, "2026-12-01T10:00:20.000Z");
  assert.ok(
    e.warnings.some((w) =>
      w.kind === "InvalidAnnotation" &&
      /zen-lead\.io\/sticky: valid choices: .*received "yes"/.test(w.message)
    ),
  );
  assert.ok(e.warnings.some((w) => w.kind === "InvalidAnnotation" && /pod web-f/.test(w.message)));
});

Deno.test("explain uses the controller's reported health: an unhealthy leader fails over to the next ranked pod", async () => {
  const states = new Map<string, ProbeState>([
    ["uid-web-a", {
      healthy: false,
      consecutiveFailures: 3,
      consecutiveSuccesses: 0,
      lastReason: "HTTP 500",
      lastCheckedAt: NOW - 1000,
    }],
    ["uid-web-g", {
      healthy: true,
      consecutiveFailures: 0,
      consecutiveSuccesses: 1,
      lastReason: "HTTP 200",
      lastCheckedAt: NOW - 1000,
    }],
  ]);
  const e = await explainScenario(
    { reachable: true, message: "probe results from a test", states },
    { "zen-lead.io/health-check": "http:8080/healthz" },
  );
  const by = new Map(e.candidates.map((c) => [c.pod, c]));
  assert.deepEqual(e.decision.leaders, ["web-g"]);
  assert.equal(e.decision.failover, "unhealthy");
  assert.equal(e.decision.keepsCurrent, false);
  assert.match(by.get("web-a")!.verdict, /excluded: unhealthy \(HTTP 500\)/);
  assert.equal(by.get("web-g")!.verdict, "leader, newly chosen");
  assert.match(by.get("web-f")!.verdict, /health not proven yet/);
});

Deno.test("explain JSON validates against schemas/explain.schema.json; a broken document does not", async () => {
  for (
    const e of [await explainScenario(), await explainScenario(noHealth, { "zen-lead.io/strategy": "nope" })]
  ) {
    const doc = JSON.parse(JSON.stringify(e));
    assert.deepEqual(validate(SCHEMA, doc), []);
  }
  const bad = JSON.parse(JSON.stringify(await explainScenario()));
  bad.candidates[0].health.state = "fine";
  delete bad.decision.keepsCurrent;
  bad.extra = 1;
  assert.deepEqual(validate(SCHEMA, bad), [
    '$.candidates[0].health.state: expected one of ["healthy","unhealthy","unknown","not checked"], received "fine"',
    "$.decision: missing required property keepsCurrent",
    "$: no value is allowed here".replace("$", "$.extra"),
  ]);
});

Deno.test("explain warns when the leader cannot serve a Service port, and shows the port unresolved", async () => {
  const k = await explainKernel(undefined, kernelParts());
  const leader = pod({ name: "web-a", ip: "10.0.0.1", readySince: NOW - 60_000 });
  const m = managed(leader);
  const e = explainService({
    service: service({
      ports: [
        { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
        { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" },
      ],
    }),
    pods: [leader],
    managedServices: m.services,
    managedSlices: m.slices,
    ctx: settingsContextOf(k.kernel, k.defaults),
    configuration: k.configuration,
    strategy: (n) => k.kernel.strategy(n),
    health: noHealth,
    now: NOW,
  });
  await k.kernel.close();
  assert.deepEqual(e.ports[0], { name: "http", port: 80, targetPort: 8080 });
  assert.equal(e.ports[1].targetPort, undefined);
  assert.match(e.ports[1].error!, /targets the named port "metrics", which pod web-a does not declare/);
  assert.ok(e.warnings.some((w) => w.kind === "NamedPortResolutionFailed"));
  assert.deepEqual(
    [e.decision.leaders, e.decision.routes],
    [["web-a"], []],
    "fail-closed: chosen, routes nowhere",
  );
  assert.match(
    renderText(e),
    /decision: +web-a, routing to nobody \(a port cannot be resolved: fail-closed\)/,
  );
  assert.ok(e.warnings.some((w) => w.kind === "NodesNotVisible"), "no Nodes given: said so");
  assert.equal(e.configuration, "no ConfigMap: built-in defaults");
});
