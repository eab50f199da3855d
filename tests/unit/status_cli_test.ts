/**
 * `zen-lead status` over a snapshot, without a cluster: the leader and its age, the last failover from the
 * controller (with latency) or else from a LeaderChanged Event (without), and the problems explain finds.
 */
import assert from "node:assert/strict";
import { kernelParts } from "../../app/start.ts";
import { type ClusterSnapshot, explainKernel } from "../../core/explain/read.ts";
import { changeEvents, renderStatusText, statusReport } from "../../app/cli/status.ts";
import type { ControllerStatus } from "../../core/status/model.ts";
import type { EndpointSlice, KubeObject, Service } from "../../core/kube/types.ts";
import { pod, service } from "./_leader_fixtures.ts";

const NOW = Date.parse("2026-12-01T10:00:00Z");
const labels = (src: string) => ({
  "app.kubernetes.io/managed-by": "zen-lead",
  "zen-lead.io/source-service": src,
});

async function snapshot(controller?: ControllerStatus): Promise<ClusterSnapshot> {
  const web0 = pod({ name: "web-0", ip: "10.0.0.1", readySince: NOW - 60_000 });
  const web1 = pod({ name: "web-1", ip: "10.0.0.2", readySince: NOW - 60_000 });
  const leaderSvc: Service = {
    metadata: {
      name: "web-leader",
      namespace: "ns",
      labels: labels("web"),
      annotations: { "zen-lead.io/leader-last-switch-time": new Date(NOW - 90_000).toISOString() },
    },
  };
  const slice = {
    metadata: { name: "web-leader", namespace: "ns", labels: labels("web") },
    addressType: "IPv4",
    endpoints: [{
      addresses: ["10.0.0.2"],
      targetRef: { kind: "Pod", name: "web-1", uid: web1.metadata.uid },
    }],
  } as EndpointSlice;
  return {
    services: [
      service(),
      service({
        name: "bad",
        annotations: { "zen-lead.io/leader-count": "zero" },
        selector: { app: "none" },
      }),
      { ...service({ name: "off" }), metadata: { name: "off", namespace: "ns" } },
    ],
    pods: [web0, web1],
    nodes: [],
    managedServices: [leaderSvc],
    managedSlices: [slice],
    controller: controller
      ? { status: controller, message: "from a test" }
      : { message: "not reachable (test)" },
    kernel: await explainKernel(undefined, kernelParts()),
    now: NOW,
    close: () => Promise.resolve(),
  };
}

Deno.test("status: the last failover comes from the controller, with its latency", async () => {
  const snap = await snapshot({
    identity: "zl-1",
    active: true,
    generatedAt: new Date(NOW).toISOString(),
    services: [{
      namespace: "ns",
      name: "web",
      probes: [],
      changes: [
        {
          service: "ns/web",
          at: new Date(NOW - 95_000).toISOString(),
          to: "web-0",
          reason: "initial",
          failover: false,
        },
        {
          service: "ns/web",
          at: new Date(NOW - 90_000).toISOString(),
          from: "web-0",
          to: "web-1",
          reason: "notReady",
          failover: true,
          latencyMs: 4.5,
        },
      ],
    }],
  });
  const r = statusReport(snap, []);
  assert.deepEqual(r.services.map((s) => s.name), ["bad", "web"], "opted-in Services only, sorted");
  const web = r.services[1];
  assert.equal(web.leader, "web-1");
  assert.deepEqual(web.lastFailover, {
    at: new Date(NOW - 90_000).toISOString(),
    from: "web-0",
    to: "web-1",
    reason: "notReady",
    latencyMs: 4.5,
    source: "controller",
  });
  assert.deepEqual(web.problems, []);
  const bad = r.services[0];
  assert.ok(
    bad.problems.some((p) => /zen-lead\.io\/leader-count: .*received "zero"/.test(p)),
    bad.problems.join("\n"),
  );
  assert.ok(bad.problems.includes("no leader Service bad-leader yet"));
  assert.ok(bad.problems.includes("no pod routes (endpoints: [])"));
  const text = renderStatusText(r, NOW);
  assert.match(text, /^ns +web +web-1 +1m30s +notReady 1m30s ago \(web-0 -> web-1\) +4\.5 ms +none$/m);
});

Deno.test("status: without the controller, the last failover comes from a LeaderChanged Event", async () => {
  const events = changeEvents([
    {
      metadata: { namespace: "ns" },
      involvedObject: { name: "web", namespace: "ns" },
      lastTimestamp: new Date(NOW - 30_000).toISOString(),
      message:
        "leader of web is now pod web-1 (10.0.0.2); reason: unhealthy (http check of pod web-0 failed)",
    } as KubeObject,
    {
      metadata: { namespace: "ns" },
      involvedObject: { name: "web", namespace: "ns" },
      lastTimestamp: new Date(NOW - 20_000).toISOString(),
      message: "leader of web is now pod web-1 (10.0.0.2); reason: strategy",
    } as KubeObject,
  ]);
  const r = statusReport(await snapshot(), events);
  const web = r.services.find((s) => s.name === "web")!;
  assert.equal(web.lastFailover?.reason, "unhealthy", "a strategy move is not a failover");
  assert.equal(web.lastFailover?.latencyMs, undefined);
  assert.match(web.lastFailover?.source ?? "", /LeaderChanged Event/);
  assert.equal(r.controller, "not reachable (test)");
});
