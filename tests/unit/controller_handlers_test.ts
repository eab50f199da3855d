import assert from "node:assert/strict";
import type { EndpointSlice, Node, Pod, Service } from "../../core/kube/types.ts";
import { managedSource, servicesOnNode, servicesSelecting } from "../../core/controller/handlers.ts";
import { nodeHandlers, podHandlers, probeTransitionHandler } from "../../core/controller/handlers.ts";
import { serviceHandlers, sliceHandlers } from "../../core/controller/handlers.ts";
import { optedOut, relevantNodeChange, relevantPodChange } from "../../core/controller/predicates.ts";
import { INDEX } from "../../core/controller/stores.ts";
import { pod, service } from "./_leader_fixtures.ts";

/** What handlers enqueued and which hooks they called, in order. */
function recorder() {
  const log: string[] = [];
  return {
    log,
    enqueue: (key: string, cause?: string) => log.push(cause ? `enqueue ${key} ${cause}` : `enqueue ${key}`),
    hook: (name: string) => (arg: unknown) =>
      log.push(`${name} ${typeof arg === "string" ? arg : (arg as Service).metadata?.name}`),
  };
}

const managedLabels = { "app.kubernetes.io/managed-by": "zen-lead", "zen-lead.io/source-service": "web" };
const leaderService: Service = { metadata: { name: "web-leader", namespace: "ns", labels: managedLabels } };
const leaderSlice: EndpointSlice = {
  metadata: { name: "web-leader", namespace: "ns", labels: managedLabels },
  addressType: "IPv4",
  endpoints: [],
};

/** An index-only store over a fixed list. */
function byIndexOf<T>(index: string, of: (obj: T) => string[], objs: T[]) {
  return {
    byIndex: (name: string, value: string) => name === index ? objs.filter((o) => of(o).includes(value)) : [],
  };
}

Deno.test("maps: a managed leader object maps to its source Service; anything else to nothing", () => {
  assert.equal(managedSource(leaderService), "ns/web");
  assert.equal(managedSource(leaderSlice), "ns/web");
  assert.equal(managedSource(service()), undefined);
  assert.equal(
    managedSource({ metadata: { namespace: "ns", labels: { "app.kubernetes.io/managed-by": "someone" } } }),
    undefined,
  );
});

Deno.test("maps: pods map to the opted-in Services selecting them (old or new labels), and nodes to theirs once", () => {
  const web = service({ name: "web", selector: { app: "web" } });
  const api = service({ name: "api", selector: { app: "api" } });
  const services = byIndexOf<Service>(INDEX.namespace, (s) => [s.metadata.namespace ?? ""], [web, api]);
  assert.deepEqual(servicesSelecting(services, "ns", { app: "web" }), ["ns/web"]);
  assert.deepEqual(servicesSelecting(services, "ns", { app: "web" }, { app: "api" }), ["ns/web", "ns/api"]);
  assert.deepEqual(servicesSelecting(services, "other", { app: "web" }), []);
  const pods = byIndexOf<Pod>(INDEX.node, (p) => [p.spec?.nodeName ?? ""], [
    pod({ name: "a", node: "n1" }),
    pod({ name: "b", node: "n1" }),
    pod({ name: "c", node: "n2", labels: { app: "api" } }),
  ]);
  assert.deepEqual(servicesOnNode(services, pods, "n1"), ["ns/web"]);
  assert.deepEqual(servicesOnNode(services, pods, "n3"), []);
});

Deno.test("predicates: a pod's heartbeat changes nothing; readiness, IP and labels do", () => {
  const a = pod({ name: "a" });
  const beat: Pod = { ...a, metadata: { ...a.metadata, resourceVersion: "99" } };
  assert.equal(relevantPodChange(a, beat), false);
  assert.equal(relevantPodChange(a, { ...a, status: { ...a.status, podIP: "10.9.9.9" } }), true);
  assert.equal(relevantPodChange(a, { ...a, metadata: { ...a.metadata, labels: { app: "x" } } }), true);
  const notReady = pod({ name: "a", ready: false });
  assert.equal(relevantPodChange(a, { ...a, status: notReady.status }), true);
});

Deno.test("predicates: a Node matters when readiness or taints change, not its heartbeat; opting out is seen", () => {
  const n: Node = {
    metadata: { name: "n1", resourceVersion: "1" },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
  assert.equal(relevantNodeChange(n, { ...n, metadata: { ...n.metadata, resourceVersion: "2" } }), false);
  assert.equal(
    relevantNodeChange(n, { ...n, status: { conditions: [{ type: "Ready", status: "False" }] } }),
    true,
  );
  assert.equal(relevantNodeChange(n, { ...n, spec: { taints: [{ key: "k", effect: "NoSchedule" }] } }), true);
  const opted = service();
  const plain = service({ annotations: { "zen-lead.io/enabled": "false" } });
  assert.equal(optedOut(opted, plain), true);
  assert.equal(optedOut(opted, opted), false);
  assert.equal(optedOut(plain, opted), false);
});

Deno.test("service handlers: a source reconciles itself after unparking; a leader Service its source", () => {
  const r = recorder();
  const h = serviceHandlers({
    enqueue: r.enqueue,
    namespaceTouched: r.hook("namespace"),
    unpark: r.hook("unpark"),
    leaderServiceSeen: r.hook("seen"),
    forget: r.hook("forget"),
  });
  h.add!(service());
  assert.deepEqual(r.log, ["namespace ns", "unpark ns/web", "enqueue ns/web"]);
  r.log.length = 0;
  h.add!(leaderService);
  assert.deepEqual(r.log, ["namespace ns", "unpark ns/web-leader", "seen web-leader", "enqueue ns/web"]);
  r.log.length = 0;
  h.update!(service(), service({ annotations: { "zen-lead.io/enabled": "false" } }));
  assert.deepEqual(
    r.log,
    ["namespace ns", "unpark ns/web", "enqueue ns/web"],
    "opting out: one clean-up reconcile",
  );
  r.log.length = 0;
  h.delete!(service());
  assert.deepEqual(r.log, ["namespace ns", "enqueue ns/web", "forget svc-uid"]);
});

Deno.test("pod handlers: only relevant changes enqueue, with the cause noted; backends see them first", () => {
  const r = recorder();
  const h = podHandlers({
    enqueue: r.enqueue,
    selecting: (_ns, ...labels) => labels.some((l) => l?.app === "web") ? ["ns/web"] : [],
    podChanged: r.hook("changed"),
    podDeleted: r.hook("deleted"),
  });
  const a = pod({ name: "a" });
  h.add!(a);
  h.update!(a, { ...a, metadata: { ...a.metadata, resourceVersion: "2" } });
  h.update!(a, { ...a, metadata: { ...a.metadata, labels: { app: "other" } } });
  h.delete!(a);
  assert.deepEqual(r.log, [
    "changed a",
    "enqueue ns/web podAdded",
    "changed a",
    "enqueue ns/web podChanged",
    "deleted a",
    "enqueue ns/web podDeleted",
  ]);
});

Deno.test("slice handlers: a managed slice reconciles its source; a deletion is noted, then repaired", () => {
  const r = recorder();
  const h = sliceHandlers({
    enqueue: r.enqueue,
    sliceSeen: r.hook("seen"),
    sliceDeleted: (s, source) => r.log.push(`deleted ${s.metadata.name} of ${source}`),
  });
  h.update!(leaderSlice, leaderSlice);
  h.delete!(leaderSlice);
  h.delete!({ ...leaderSlice, metadata: { name: "stray", namespace: "ns" } });
  assert.deepEqual(r.log, [
    "seen web-leader",
    "enqueue ns/web",
    "deleted web-leader of ns/web",
    "enqueue ns/web sliceDeleted",
  ]);
});

Deno.test("node and probe handlers: what a Service's decision reads changed, so it is enqueued with the cause", () => {
  const r = recorder();
  const h = nodeHandlers({ enqueue: r.enqueue, servicesOn: (n) => n === "n1" ? ["ns/web", "ns/api"] : [] });
  const n: Node = { metadata: { name: "n1" }, status: { conditions: [{ type: "Ready", status: "True" }] } };
  h.update!(n, { ...n, metadata: { name: "n1", resourceVersion: "5" } });
  h.update!(n, { ...n, status: { conditions: [{ type: "Ready", status: "Unknown" }] } });
  h.delete!({ metadata: { name: "n2" } });
  const probe = probeTransitionHandler(r.enqueue);
  probe("ns/web", "uid-a", false);
  probe("ns/web", "uid-a", true);
  assert.deepEqual(r.log, [
    "enqueue ns/web nodeChanged",
    "enqueue ns/api nodeChanged",
    "enqueue ns/web probeFailed",
    "enqueue ns/web probePassed",
  ]);
});
