import assert from "node:assert/strict";
import { leaderProblems } from "../chaos/checker.ts";
import { type AuditEvent, nonHolderWrites } from "../chaos/audit.ts";
import type { EndpointSlice, Pod, Service } from "../../core/kube/types.ts";

const svc: Service = {
  metadata: { namespace: "ns", name: "web", annotations: { "zen-lead.io/enabled": "true" } },
  spec: { selector: { app: "web" } },
};
const pod = (name: string, ready: boolean, o: { ip?: string; terminating?: boolean } = {}): Pod => ({
  metadata: {
    namespace: "ns",
    name,
    uid: `uid-${name}`,
    labels: { app: "web" },
    ...(o.terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
  },
  status: {
    phase: "Running",
    podIP: o.ip ?? `10.0.0.${name.length}`,
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  },
});
const slice = (...pods: Pod[]): EndpointSlice => ({
  metadata: { namespace: "ns", name: "web-leader" },
  addressType: "IPv4",
  endpoints: pods.map((p) => ({
    addresses: [p.status!.podIP!],
    targetRef: { kind: "Pod", namespace: "ns", name: p.metadata.name!, uid: p.metadata.uid! },
  })),
});

Deno.test("checker: one eligible pod routed is right, whichever it is (stickiness)", () => {
  const a = pod("a", true), b = pod("bb", true);
  assert.deepEqual(leaderProblems([svc], [a, b], [slice(b)]), []);
  assert.deepEqual(leaderProblems([svc], [a, b], [slice(a)]), []);
});

Deno.test("checker: a not-Ready or terminating leader, two endpoints, a missing slice or a stale endpoint are wrong", () => {
  const a = pod("a", false), b = pod("bb", true), t = pod("ccc", true, { terminating: true });
  assert.match(leaderProblems([svc], [a, b], [slice(a)])[0].problem, /routes to a, which is not eligible/);
  assert.match(leaderProblems([svc], [t, b], [slice(t)])[0].problem, /ccc, which is not eligible/);
  assert.match(leaderProblems([svc], [a, b], [slice(a, b)])[0].problem, /expected 1 endpoint, found 2/);
  assert.match(leaderProblems([svc], [b], [])[0].problem, /no leader EndpointSlice/);
  assert.match(leaderProblems([svc], [a], [slice(a)])[0].problem, /routes although no pod is eligible/);
  assert.deepEqual(leaderProblems([svc], [a], [slice()]), [], "no eligible pod: no endpoint is right");
  const moved = { ...b, status: { ...b.status, podIP: "10.9.9.9" } };
  assert.match(leaderProblems([svc], [moved], [slice(b)])[0].problem, /bb has 10\.9\.9\.9/);
});

const ev = (
  at: string,
  user: string,
  verb: string,
  resource: string,
  name: string,
  code: number,
  holder?: string,
) =>
  ({
    verb,
    user: { username: user },
    objectRef: { resource, namespace: resource === "leases" ? "sys" : "ns", name },
    responseStatus: { code },
    requestReceivedTimestamp: at,
    stage: "ResponseComplete",
    ...(holder !== undefined ? { requestObject: { spec: { holderIdentity: holder } } } : {}),
  }) as AuditEvent;

Deno.test("audit: writes by the holder pass; a write after another replica took the Lease is a non-holder write", () => {
  const q = {
    leaseNamespace: "sys",
    leaseName: "lease",
    identityOf: (u: string) => ({ ua: "a", ub: "b" } as Record<string, string>)[u],
    managed: (r: { name?: string }) => (r.name ?? "").endsWith("-leader"),
  };
  const events = [
    ev("2026-01-01T00:00:01.000000Z", "ua", "update", "leases", "lease", 200, "a"),
    ev("2026-01-01T00:00:02.000000Z", "ua", "update", "endpointslices", "web-leader", 200),
    ev("2026-01-01T00:00:20.000000Z", "ub", "update", "leases", "lease", 200, "b"),
    ev("2026-01-01T00:00:21.000000Z", "ub", "update", "endpointslices", "web-leader", 200),
    // a's held PUT delivered after b took over: the precondition rejects it (409), or it would be a violation
    ev("2026-01-01T00:00:25.000000Z", "ua", "update", "endpointslices", "web-leader", 409),
    ev("2026-01-01T00:00:26.000000Z", "ua", "update", "endpointslices", "api-leader", 200),
    ev("2026-01-01T00:00:27.000000Z", "admin", "update", "endpointslices", "web-leader", 200),
    ev("2026-01-01T00:00:28.000000Z", "ua", "update", "leases", "lease", 409, "a"),
  ];
  const f = nonHolderWrites(events, q);
  assert.equal(f.managedWrites, 3);
  assert.deepEqual(f.rejected.map((w) => [w.writer, w.holder, w.code]), [["a", "b", 409]]);
  assert.deepEqual(f.successful.map((w) => [w.writer, w.holder, w.object]), [[
    "a",
    "b",
    "endpointslices ns/api-leader",
  ]]);
});
