import assert from "node:assert/strict";
import { desiredPodScopes } from "../../core/controller/pod_scopes.ts";
import { nodeTransform, serviceTransform } from "../../core/controller/transforms.ts";

const base = { installNamespaces: [] as string[], allPods: false, maxNamespaces: 3 };

Deno.test("pods are watched only in namespaces that hold an opted-in Service", () => {
  assert.deepEqual(desiredPodScopes({ ...base, optedIn: new Set(["b", "a"]) }), ["a", "b"]);
  assert.deepEqual(desiredPodScopes({ ...base, optedIn: new Set() }), []);
});

Deno.test("beyond maxNamespaces a cluster-wide install uses one cluster-wide pod watch", () => {
  assert.deepEqual(desiredPodScopes({ ...base, optedIn: new Set(["a", "b", "c", "d"]) }), [""]);
  assert.deepEqual(desiredPodScopes({ ...base, optedIn: new Set(["a", "b", "c"]) }), ["a", "b", "c"]);
});

Deno.test("a namespace-scoped install (Roles only) never watches cluster-wide, only its opted-in namespaces", () => {
  const scoped = { ...base, installNamespaces: ["a", "b", "c", "d", "e"] };
  assert.deepEqual(desiredPodScopes({ ...scoped, optedIn: new Set(["a", "b", "c", "d", "x"]) }), [
    "a",
    "b",
    "c",
    "d",
  ]);
  assert.deepEqual(
    desiredPodScopes({ ...scoped, allPods: true, optedIn: new Set() }),
    scoped.installNamespaces,
  );
});

Deno.test("a cloud backend (pod egress hooks) needs every pod", () => {
  assert.deepEqual(desiredPodScopes({ ...base, allPods: true, optedIn: new Set(["a"]) }), [""]);
});

Deno.test("a Service nothing opts in is cached as name, labels and zen-lead annotations only", () => {
  const plain = serviceTransform({
    metadata: {
      name: "web",
      namespace: "a",
      uid: "u",
      resourceVersion: "7",
      labels: { app: "web" },
      annotations: { "zen-lead.io/strategy": "newest", "other.io/x": "y".repeat(1000) },
    },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
  });
  assert.deepEqual(plain, {
    metadata: {
      name: "web",
      namespace: "a",
      uid: "u",
      resourceVersion: "7",
      deletionTimestamp: undefined,
      labels: { app: "web" },
      annotations: { "zen-lead.io/strategy": "newest" },
    },
  });
  const opted = serviceTransform({
    metadata: { name: "web", namespace: "a", annotations: { "zen-lead.io/enabled": "true" } },
    spec: { selector: { app: "web" } },
  });
  assert.deepEqual(opted.spec, { selector: { app: "web" } });
  const managed = serviceTransform({
    metadata: { name: "web-leader", namespace: "a", labels: { "app.kubernetes.io/managed-by": "zen-lead" } },
    spec: { ports: [{ port: 80 }] },
  });
  assert.deepEqual(managed.spec, { ports: [{ port: 80 }] });
});

Deno.test("a Node keeps Ready, schedulability, taints, labels and its InternalIP", () => {
  const n = nodeTransform({
    metadata: { name: "n1", labels: { "topology.kubernetes.io/zone": "z" } },
    spec: { unschedulable: true, taints: [] },
    status: {
      conditions: [{ type: "Ready", status: "True" }, { type: "MemoryPressure", status: "False" }],
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "Hostname", address: "n1" }],
      // deno-lint-ignore no-explicit-any
      images: [{ names: ["x".repeat(1000)] }] as any,
    } as never,
  });
  assert.deepEqual(n.status, {
    conditions: [{ type: "Ready", status: "True" }],
    addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
  });
  assert.equal(n.spec?.unschedulable, true);
  assert.equal(n.metadata.labels?.["topology.kubernetes.io/zone"], "z");
});
