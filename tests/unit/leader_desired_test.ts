/** The desired leader Service and EndpointSlice, and their comparison with what the API server holds. */
import assert from "node:assert/strict";
import {
  desiredEndpointSlice,
  desiredLeaderService,
  routableEndpoints,
} from "../../core/leader/desired_objects.ts";
import { mergeService, serviceDrift, sliceDrift } from "../../core/leader/compare.ts";
import { resolvePorts } from "../../core/leader/ports.ts";
import type { Service } from "../../core/kube/types.ts";
import { pod, service } from "./_leader_fixtures.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");

/** The decision that `leader` leads `src`, with the ports resolved on it, taken at NOW. */
function decisionFor(src: Service, leader: ReturnType<typeof pod>) {
  return { leaders: [leader], ports: resolvePorts(src.spec!.ports!, leader), triggeredAt: NOW, seed: "s" };
}

Deno.test("leader Service: no selector, no nodePort, no clusterIP, no zen-lead or last-applied copies", () => {
  const src = service({
    type: "NodePort",
    labels: { app: "web", "app.kubernetes.io/instance": "argo-app", team: "a" },
    annotations: {
      "kubectl.kubernetes.io/last-applied-configuration": "{}",
      "zen-lead.io/strategy": "oldest",
      "example.com/keep": "yes",
    },
    ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 30080 }],
  });
  const leader = pod({ name: "p1" });
  const ports = resolvePorts(src.spec!.ports!, leader);
  const svc = desiredLeaderService(
    src,
    "web-leader",
    { leaders: [leader], ports, triggeredAt: NOW, seed: "s" },
    undefined,
    NOW,
  );
  assert.equal(svc.spec!.selector, undefined);
  assert.equal(svc.spec!.clusterIP, undefined);
  assert.equal(svc.spec!.type, "NodePort");
  assert.deepEqual(svc.spec!.ports, [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }]);
  assert.deepEqual(svc.metadata.labels, {
    app: "web",
    team: "a",
    "app.kubernetes.io/managed-by": "zen-lead",
    "zen-lead.io/source-service": "web",
  });
  const ann = svc.metadata.annotations!;
  assert.equal(ann["zen-lead.io/enabled"], undefined);
  assert.equal(ann["zen-lead.io/strategy"], undefined);
  assert.equal(ann["kubectl.kubernetes.io/last-applied-configuration"], undefined);
  assert.equal(ann["example.com/keep"], "yes");
  assert.equal(ann["zen-lead.io/current-leader"], "p1");
  assert.equal(ann["zen-lead.io/leader-pod-uid"], "uid-p1");
  assert.equal(ann["zen-lead.io/leader-last-switch-time"], "2026-01-01T00:00:00Z");
  assert.deepEqual(svc.metadata.ownerReferences, [{
    apiVersion: "v1",
    kind: "Service",
    name: "web",
    uid: "svc-uid",
    controller: true,
    blockOwnerDeletion: true,
  }]);
  assert.deepEqual(svc.spec!.ipFamilies, ["IPv4"]);
});

Deno.test("leader Service: headless and ExternalName sources yield ClusterIP; IPv6 leader gives IPv6 family", () => {
  const src = service({ type: "ExternalName" });
  const leader = pod({ ip: "fd00::5" });
  const svc = desiredLeaderService(
    src,
    "web-leader",
    decisionFor(src, leader),
    undefined,
    NOW,
  );
  assert.equal(svc.spec!.type, "ClusterIP");
  assert.deepEqual(svc.spec!.ipFamilies, ["IPv6"]);
});

Deno.test("leader Service: the switch time changes only when the leader UID changes", () => {
  const src = service();
  const p1 = pod({ name: "s1" });
  const d = (leaders = [p1], at = NOW, observed?: Service) =>
    desiredLeaderService(src, "web-leader", { leaders, triggeredAt: at, seed: "s" }, observed, at);
  const first = d();
  const same = d([p1], NOW + 60_000, first);
  assert.equal(same.metadata.annotations!["zen-lead.io/leader-last-switch-time"], "2026-01-01T00:00:00Z");
  const moved = d([pod({ name: "s2" })], NOW + 60_000, first);
  assert.equal(moved.metadata.annotations!["zen-lead.io/leader-last-switch-time"], "2026-01-01T00:01:00Z");
});

Deno.test("EndpointSlice: one endpoint with targetRef and conditions; no leader means endpoints: []", () => {
  const src = service();
  const leader = pod({ name: "p1", ip: "10.1.2.3", node: "n1" });
  const ports = resolvePorts(src.spec!.ports!, leader);
  const decision = { leaders: [leader], ports, triggeredAt: NOW, seed: "s" };
  const leaderSvc = { ...desiredLeaderService(src, "web-leader", decision, undefined, NOW) };
  leaderSvc.metadata = { ...leaderSvc.metadata, uid: "leader-uid" };
  const eps = routableEndpoints(decision, "IPv4", (p) => resolvePorts(src.spec!.ports!, p));
  const slice = desiredEndpointSlice("web", leaderSvc, eps, decision, "IPv4");
  assert.equal(slice.addressType, "IPv4");
  assert.deepEqual(slice.endpoints, [{
    addresses: ["10.1.2.3"],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: "n1",
    targetRef: { kind: "Pod", namespace: "ns", name: "p1", uid: "uid-p1" },
  }]);
  assert.deepEqual(slice.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  assert.equal(slice.metadata.labels!["kubernetes.io/service-name"], "web-leader");
  assert.equal(slice.metadata.labels!["endpointslice.kubernetes.io/managed-by"], "zen-lead");
  assert.equal(slice.metadata.ownerReferences![0].uid, "leader-uid");
  assert.equal(
    slice.metadata.annotations!["endpoints.kubernetes.io/last-change-trigger-time"],
    "2026-01-01T00:00:00.000Z",
  );

  const none = { leaders: [], triggeredAt: NOW, seed: "s" };
  const empty = desiredEndpointSlice(
    "web",
    leaderSvc,
    routableEndpoints(none, "IPv4", () => ports),
    none,
    "IPv4",
  );
  assert.deepEqual(empty.endpoints, []);
});

Deno.test("EndpointSlice: a port failure routes nowhere (fail-closed), never a partial endpoint", () => {
  const src = service({ ports: [{ name: "grpc", port: 9000, targetPort: "grpc" }] });
  const leader = pod();
  const decision = decisionFor(src, leader);
  assert.deepEqual(routableEndpoints(decision, "IPv4", (p) => resolvePorts(src.spec!.ports!, p)), []);
  const svc = desiredLeaderService(src, "web-leader", decision, undefined, NOW);
  assert.equal(svc.spec!.ports!.length, 1, "the leader Service keeps valid ports (never ports: [])");
});

Deno.test("compare: no drift after a round trip through the API's defaults; a leader change is drift", () => {
  const src = service({ type: "LoadBalancer" });
  const leader = pod({ name: "p1" });
  const decision = decisionFor(src, leader);
  const desired = desiredLeaderService(src, "web-leader", decision, undefined, NOW);
  const observed: Service = structuredClone(desired);
  observed.metadata.uid = "u";
  observed.metadata.annotations!["other-tool/added"] = "x";
  Object.assign(observed.spec!, {
    clusterIP: "10.96.1.1",
    sessionAffinity: "None",
    externalTrafficPolicy: "Cluster",
    internalTrafficPolicy: "Cluster",
    allocateLoadBalancerNodePorts: true,
  });
  observed.spec!.ports![0].nodePort = 31000;
  assert.equal(serviceDrift(desired, observed), undefined);
  const next = desiredLeaderService(
    src,
    "web-leader",
    { ...decision, leaders: [pod({ name: "p2" })] },
    observed,
    NOW,
  );
  assert.equal(serviceDrift(next, observed), "annotations");
  const merged = mergeService(next, observed);
  assert.equal(merged.spec!.clusterIP, "10.96.1.1", "allocated clusterIP kept");
  assert.equal(merged.spec!.ports![0].nodePort, 31000, "allocated nodePort kept");
  assert.equal(merged.metadata.annotations!["other-tool/added"], "x");
  assert.equal(merged.metadata.annotations!["zen-lead.io/current-leader"], "p2");
});

Deno.test("compare: a leader Service adopted from the Go predecessor loses its copied enabled and last-applied annotations", () => {
  const src = service();
  const leader = pod({ name: "p1" });
  const decision = decisionFor(src, leader);
  const desired = desiredLeaderService(src, "web-leader", decision, undefined, NOW);
  const observed: Service = structuredClone(desired);
  // The predecessor copied every source annotation, zen-lead.io/enabled and kubectl's last-applied one included.
  observed.metadata.annotations!["zen-lead.io/enabled"] = "true";
  observed.metadata.annotations!["kubectl.kubernetes.io/last-applied-configuration"] =
    '{"metadata":{"name":"web"}}';
  observed.metadata.annotations!["team/owner"] = "payments";
  assert.equal(serviceDrift(desired, observed), "annotations");
  const merged = mergeService(desired, observed);
  assert.equal(merged.metadata.annotations!["zen-lead.io/enabled"], undefined);
  assert.equal(merged.metadata.annotations!["kubectl.kubernetes.io/last-applied-configuration"], undefined);
  assert.equal(merged.metadata.annotations!["team/owner"], "payments", "other annotations stay");
  assert.equal(serviceDrift(desired, merged), undefined);
});

Deno.test("compare: slice drift ignores the trigger-time annotation alone", () => {
  const src = service();
  const leader = pod();
  const decision = decisionFor(src, leader);
  const lsvc = desiredLeaderService(src, "web-leader", decision, undefined, NOW);
  lsvc.metadata.uid = "lu";
  const eps = routableEndpoints(decision, "IPv4", (p) => resolvePorts(src.spec!.ports!, p));
  const a = desiredEndpointSlice("web", lsvc, eps, decision, "IPv4");
  const b = desiredEndpointSlice("web", lsvc, eps, { ...decision, triggeredAt: NOW + 5 }, "IPv4");
  assert.equal(sliceDrift(b, a), undefined);
  const c = desiredEndpointSlice("web", lsvc, [], decision, "IPv4");
  assert.equal(sliceDrift(c, a), "endpoints");
});
