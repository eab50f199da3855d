import assert from "node:assert/strict";
import type { Service } from "../../core/kube/types.ts";
import type { HealthChecker, LeaderStrategy } from "../../core/plugin/types.ts";
import { leaderSlice, planService, type RoutePlan } from "../../core/controller/plan.ts";
import type { ServiceSnapshot } from "../../core/controller/read.ts";
import { reportRouting } from "../../core/controller/report.ts";
import oldestPlugin from "../../strategies/oldest.ts";
import { leaderSettings, pod, service } from "./_leader_fixtures.ts";

const oldest = oldestPlugin.setup({} as never) as LeaderStrategy;
const httpChecker: HealthChecker = { check: () => Promise.resolve({ healthy: true, reason: "ok" }) };
const NOW = 10_000_000;

const settings = leaderSettings;

function snapshot(o: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  const svc = o.service ?? service();
  return {
    key: "ns/web",
    namespace: "ns",
    name: "web",
    kind: "optedIn",
    service: svc,
    uid: svc.metadata.uid ?? "",
    settings: settings(),
    settingsErrors: [],
    managed: { services: [], slices: [] },
    leaderName: "web-leader",
    pods: [],
    nodes: new Map(),
    currentLeaders: [],
    seed: "seed",
    strategy: oldest,
    health: new Map(),
    now: NOW,
    ...o,
  };
}

function route(s: ServiceSnapshot): RoutePlan {
  const plan = planService(s);
  assert.equal(plan.kind, "route");
  return plan as RoutePlan;
}

const reasons = (e: { events: { reason: string }[] }) => e.events.map((x) => x.reason);
/** A Service of the leader's name that zen-lead does not manage. */
const strangerService: Service = {
  metadata: { name: "web-leader", namespace: "ns", labels: { app: "other" } },
};

Deno.test("plan: a Service gone from the cache is cleaned up, counted as a cache miss, and its series dropped after", () => {
  const plan = planService({ kind: "gone", key: "ns/web", namespace: "ns", name: "web" });
  assert.equal(plan.kind, "cleanup");
  if (plan.kind !== "cleanup") return;
  assert.deepEqual(plan.emission.metrics, [{ inc: "cacheMisses" }]);
  assert.deepEqual(plan.emission.events, []);
  assert.deepEqual(plan.afterwards.metrics.map((m) => "remove" in m && m.remove), [
    "leaderStable",
    "podsAvailable",
    "withoutEndpoints",
  ]);
});

Deno.test("plan: an opted-in Service without a selector gets InvalidService and a clean-up", () => {
  const plan = planService({
    kind: "noSelector",
    key: "ns/web",
    namespace: "ns",
    name: "web",
    service: service(),
  });
  assert.equal(plan.kind, "cleanup");
  assert.deepEqual(plan.kind === "cleanup" && plan.emission.metrics, [{ inc: "cacheHits" }]);
  assert.deepEqual(reasons(plan.kind === "cleanup" ? plan.emission : { events: [] }), ["InvalidService"]);
});

Deno.test("plan: a stranger's object of the leader name is left alone; invalid annotations are still reported first", () => {
  const s = snapshot({
    observedService: strangerService,
    settingsErrors: [{ annotation: "zen-lead.io/leader-count", value: "x", message: "bad count" }],
  });
  const plan = planService(s);
  assert.equal(plan.kind, "nameTaken");
  if (plan.kind !== "nameTaken") return;
  assert.equal(
    plan.requeueAfterMs,
    undefined,
    "a cached stranger's object brings the Service back by its own events",
  );
  assert.deepEqual(reasons(plan.emission), ["InvalidAnnotation", "LeaderNameConflict"]);
  assert.match(
    plan.emission.events[1].message,
    /^Service ns\/web-leader exists and is not managed by zen-lead/,
  );
  assert.deepEqual(plan.emission.metrics.map((m) => "inc" in m && m.inc), [
    "cacheHits",
    "invalidAnnotations",
    "nameConflicts",
  ]);
});

Deno.test("plan: a stranger's EndpointSlice seen only through the API is looked at again in 30 s", () => {
  const plan = planService(snapshot({ strangerSlice: true }));
  assert.equal(plan.kind, "nameTaken");
  assert.equal(plan.kind === "nameTaken" && plan.requeueAfterMs, 30_000);
  assert.match(
    plan.kind === "nameTaken" ? plan.emission.events[0].message : "",
    /^EndpointSlice ns\/web-leader/,
  );
});

Deno.test("plan: a first election routes to the oldest pod; the desired leader Service records it", () => {
  const a = pod({ name: "a", created: 2000 }), b = pod({ name: "b", created: 1000 });
  const plan = route(snapshot({ pods: [a, b] }));
  assert.deepEqual(plan.decision.leaders.map((p) => p.metadata.name), ["b"]);
  assert.deepEqual(plan.probeFirst, [], "a passive checker needs no probe");
  assert.equal(plan.desiredService.metadata.name, "web-leader");
  assert.equal(plan.desiredService.metadata.annotations?.["zen-lead.io/leader-pod-uid"], "uid-b");
  assert.equal(plan.backendState, undefined, "no backend named, none given");
  assert.deepEqual(plan.decided.events, []);
});

Deno.test("plan: never-probed candidates are probed first when no leader can be chosen without them", () => {
  const a = pod({ name: "a", created: 1000 });
  const s = snapshot({ pods: [a], settings: settings({}, httpChecker) });
  const first = route(s);
  assert.deepEqual(first.decision.leaders, []);
  assert.deepEqual(first.probeFirst, ["uid-a"]);
  const after = route({ ...s, health: new Map([["uid-a", true]]) });
  assert.deepEqual(after.decision.leaders.map((p) => p.metadata.name), ["a"]);
  assert.deepEqual(after.probeFirst, []);
});

Deno.test("plan: a port the leader does not declare is counted and reported, and nothing routes (fail-closed)", () => {
  const svc = service({ ports: [{ name: "grpc", port: 90, targetPort: "grpc", protocol: "TCP" }] });
  const a = pod({ name: "a" });
  const plan = route(snapshot({ service: svc, pods: [a] }));
  assert.deepEqual(reasons(plan.decided), ["NamedPortResolutionFailed", "PortResolutionFailed"]);
  assert.deepEqual(plan.decided.metrics, [{
    inc: "portFailures",
    labels: { namespace: "ns", service: "web", type: "named" },
  }]);
  const leaderSvc: Service = {
    ...plan.desiredService,
    metadata: { ...plan.desiredService.metadata, uid: "L" },
  };
  assert.equal(leaderSlice(plan, leaderSvc).routed, 0);
});

Deno.test("plan: the leader slice belongs to the written leader Service and routes to the leader", () => {
  const a = pod({ name: "a", ip: "10.1.2.3" });
  const plan = route(snapshot({ pods: [a] }));
  const leaderSvc: Service = {
    ...plan.desiredService,
    metadata: { ...plan.desiredService.metadata, uid: "L" },
  };
  const { slice, routed } = leaderSlice(plan, leaderSvc);
  assert.equal(routed, 1);
  assert.equal(slice.metadata.ownerReferences?.[0]?.uid, "L");
  assert.deepEqual((slice.endpoints ?? []).map((e) => e.addresses[0]), ["10.1.2.3"]);
  assert.equal(slice.addressType, "IPv4");
});

Deno.test("plan: a named backend gets the leaders with their node's address and the resolved target port", () => {
  const a = pod({ name: "a", ip: "10.1.2.3", node: "n1" });
  const plan = route(snapshot({
    pods: [a],
    settings: settings({ backend: "cloud" }),
    nodes: new Map([["n1", {
      name: "n1",
      ready: true,
      unschedulable: false,
      labels: {},
      taints: [],
      internalIP: "192.0.2.1",
    }]]),
  }));
  assert.deepEqual(plan.backendState, {
    key: "ns/web",
    uid: "svc-uid",
    ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
    leaders: [{ podName: "a", podUID: "uid-a", podIP: "10.1.2.3", nodeName: "n1", nodeIP: "192.0.2.1" }],
  });
});

Deno.test("report: a failover off an unhealthy leader is counted, timed from its trigger, named, logged and kept", () => {
  const a = pod({ name: "a", created: 1000 }), b = pod({ name: "b", created: 2000 });
  const plan = route(snapshot({
    pods: [a, b],
    settings: settings({}, httpChecker),
    currentLeaders: ["uid-a"],
    health: new Map([["uid-a", false], ["uid-b", true]]),
    trigger: { at: NOW - 40, cause: "probeFailed" },
  }));
  assert.equal(plan.decision.failover, "unhealthy");
  const e = reportRouting(plan, { sliceWritten: true, routed: 1, wroteAt: NOW, failedReason: "HTTP 500" });
  assert.ok(e.metrics.some((m) => "inc" in m && m.inc === "failovers"));
  assert.deepEqual(e.metrics.find((m) => "observe" in m), {
    observe: "failoverLatency",
    labels: { reason: "unhealthy" },
    value: 0.04,
  });
  assert.deepEqual(reasons(e), ["LeaderChanged"]);
  assert.match(
    e.events[0].message,
    /is now pod b .*reason: unhealthy \(http check of pod a failed: HTTP 500\)$/,
  );
  assert.deepEqual(e.logs.map((l) => [l.message, l.fields.latencyMs]), [["failover", 40]]);
  assert.deepEqual(e.change && [e.change.from, e.change.to, e.change.failover, e.change.latencyMs], [
    "a",
    "b",
    true,
    40,
  ]);
});

Deno.test("report: a slice that already said so times nothing and records no change", () => {
  const b = pod({ name: "b", created: 2000 });
  const plan = route(
    snapshot({ pods: [b], currentLeaders: ["uid-a"], trigger: { at: NOW - 5, cause: "podDeleted" } }),
  );
  const e = reportRouting(plan, { sliceWritten: false, routed: 1, wroteAt: NOW });
  assert.equal(e.metrics.some((m) => "observe" in m), false);
  assert.equal(e.change, undefined);
});

Deno.test("report: the first leader makes routing available; no pods at all is a NoPodsFound Warning", () => {
  const first = route(snapshot({ pods: [pod({ name: "a" })] }));
  assert.deepEqual(reasons(reportRouting(first, { sliceWritten: true, routed: 1, wroteAt: NOW })), [
    "LeaderRoutingAvailable",
  ]);
  const none = route(snapshot({ pods: [] }));
  const e = reportRouting(none, { sliceWritten: true, routed: 0, wroteAt: NOW });
  assert.deepEqual(reasons(e), ["NoPodsFound"]);
  assert.deepEqual(e.metrics.find((m) => "set" in m && m.set === "withoutEndpoints"), {
    set: "withoutEndpoints",
    labels: { namespace: "ns", service: "web" },
    value: 1,
  });
});
