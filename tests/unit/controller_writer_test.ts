import assert from "node:assert/strict";
import { countWrites, type LeaderApi } from "../../core/controller/api.ts";
import { LeaderNameConflictError, NotActiveError, WriteConflictError } from "../../core/controller/errors.ts";
import { WriteOverlay } from "../../core/controller/overlay.ts";
import { LeaderWriter } from "../../core/controller/writer.ts";
import { KubeApiError } from "../../core/kube/errors.ts";
import type { EndpointSlice, Service } from "../../core/kube/types.ts";

const apiError = (status: number, reason: string) =>
  new KubeApiError({ operation: "write", method: "PUT", path: "/x", status, reason, serverMessage: reason });

/** A LeaderApi whose answers a test scripts per call; unscripted calls fail the test. */
function scriptedApi(o: Partial<LeaderApi>): { api: LeaderApi; calls: string[] } {
  const calls: string[] = [];
  const fail = (name: string) => () => Promise.reject(new Error(`unexpected ${name}`));
  const names = [
    "getService",
    "createService",
    "replaceService",
    "deleteService",
    "getSlice",
    "createSlice",
    "replaceSlice",
    "deleteSlice",
    "patchServiceStatus",
  ] as const;
  const api = {} as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const n of names) {
    const f = (o[n] as ((...a: unknown[]) => Promise<unknown>) | undefined) ?? fail(n);
    api[n] = (...a) => {
      calls.push(n);
      return f(...a);
    };
  }
  return { api: api as unknown as LeaderApi, calls };
}

const managedSlice = (rv: string, ip = "10.0.0.1"): EndpointSlice => ({
  metadata: {
    name: "web-leader",
    namespace: "ns",
    resourceVersion: rv,
    labels: { "app.kubernetes.io/managed-by": "zen-lead", "zen-lead.io/source-service": "web" },
    ownerReferences: [{ apiVersion: "v1", kind: "Service", name: "web-leader", uid: "L", controller: true }],
  },
  addressType: "IPv4",
  endpoints: [{ addresses: [ip] }],
});

function writer(api: LeaderApi, canWrite = () => true) {
  const overlay = { services: new WriteOverlay<Service>(), slices: new WriteOverlay<EndpointSlice>() };
  return { w: new LeaderWriter({ api, overlay, canWrite }), overlay };
}

Deno.test("writer: no write reaches the API once this replica may not write", async () => {
  const { api, calls } = scriptedApi({});
  const { w } = writer(api, () => false);
  await assert.rejects(w.writeSlice("ns", managedSlice("1"), undefined), NotActiveError);
  await assert.rejects(w.deleteService("ns", { metadata: { name: "web-leader" } }), NotActiveError);
  assert.deepEqual(calls, []);
});

Deno.test("writer: a 409 on a slice update forgets our copy and asks for a new decision from the cache", async () => {
  const { api } = scriptedApi({ replaceSlice: () => Promise.reject(apiError(409, "Conflict")) });
  const { w, overlay } = writer(api);
  overlay.slices.remember("ns/web-leader", managedSlice("5"));
  const err = await w.writeSlice("ns", managedSlice("5", "10.0.0.2"), managedSlice("5")).catch((e) => e);
  assert.ok(err instanceof WriteConflictError);
  assert.equal(err.key, "ns/web-leader");
  assert.equal(overlay.slices.size, 0);
});

Deno.test("writer: a slice of the leader name made by a stranger is a name conflict, ours a write conflict", async () => {
  const stranger = { ...managedSlice("3"), metadata: { name: "web-leader", namespace: "ns", labels: {} } };
  const a = scriptedApi({
    createSlice: () => Promise.reject(apiError(409, "AlreadyExists")),
    getSlice: () => Promise.resolve(stranger),
  });
  await assert.rejects(
    writer(a.api).w.writeSlice("ns", managedSlice(""), undefined),
    LeaderNameConflictError,
  );
  const b = scriptedApi({
    createSlice: () => Promise.reject(apiError(409, "AlreadyExists")),
    getSlice: () => Promise.resolve(managedSlice("9")),
  });
  const { w, overlay } = writer(b.api);
  await assert.rejects(w.writeSlice("ns", managedSlice(""), undefined), WriteConflictError);
  assert.equal(overlay.slices.view("ns/web-leader", undefined)?.metadata.resourceVersion, "9");
});

Deno.test("writer: a slice that already says what was decided is not written", async () => {
  const { api, calls } = scriptedApi({});
  assert.equal(await writer(api).w.writeSlice("ns", managedSlice("4"), managedSlice("4")), false);
  assert.deepEqual(calls, []);
});

Deno.test("writer: deleting what is already gone counts as deleted, and the overlay hides it until the watch agrees", async () => {
  const { api } = scriptedApi({ deleteService: () => Promise.reject(apiError(404, "NotFound")) });
  const { w, overlay } = writer(api);
  const svc: Service = { metadata: { name: "web-leader", namespace: "ns", uid: "u", resourceVersion: "7" } };
  await w.deleteService("ns", svc);
  assert.equal(overlay.services.view("ns/web-leader", svc), undefined);
  assert.ok(overlay.services.deletedByUs("ns/web-leader"));
});

Deno.test("countWrites: only acknowledged writes are counted, by kind and verb", async () => {
  const counted: string[] = [];
  const { api } = scriptedApi({
    createSlice: (_ns, s) => Promise.resolve(s),
    deleteService: () => Promise.reject(apiError(404, "NotFound")),
    getSlice: () => Promise.resolve(undefined),
  });
  const c = countWrites(api, { inc: (l) => counted.push(`${l.kind}/${l.verb}`) });
  await c.createSlice("ns", managedSlice(""));
  await c.deleteService("ns", "x", "u").catch(() => {});
  await c.getSlice("ns", "x");
  assert.deepEqual(counted, ["EndpointSlice/create"]);
});
