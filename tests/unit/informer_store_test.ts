import assert from "node:assert/strict";
import { dropManagedFields } from "../../core/kube/informer.ts";
import { relistDiff } from "../../core/kube/relist_diff.ts";
import { ObjectStore } from "../../core/kube/store.ts";
import type { Pod } from "../../core/kube/types.ts";

const pod = (ns: string, name: string, rv: string, node?: string): Pod => ({
  metadata: { namespace: ns, name, resourceVersion: rv, uid: `${ns}-${name}` },
  spec: node ? { nodeName: node } : {},
});

Deno.test("store: get, list by namespace, and an index kept current on upsert and remove", () => {
  const store = new ObjectStore<Pod>();
  store.upsert(pod("a", "p1", "1", "n1"));
  store.addIndex("node", (p) => p.spec?.nodeName ? [p.spec.nodeName] : []);
  store.upsert(pod("a", "p2", "1", "n1"));
  store.upsert(pod("b", "p3", "1", "n2"));
  assert.deepEqual(
    store.byIndex("node", "n1").map((p) => p.metadata.name).sort(),
    ["p1", "p2"],
    "index covers objects stored before it was added",
  );
  assert.equal(
    store.upsert(pod("a", "p2", "2", "n2"))?.metadata.resourceVersion,
    "1",
    "upsert returns the old object",
  );
  assert.deepEqual(store.byIndex("node", "n1").map((p) => p.metadata.name), ["p1"]);
  assert.deepEqual(store.byIndex("node", "n2").map((p) => p.metadata.name).sort(), ["p2", "p3"]);
  assert.equal(store.remove("b/p3")?.metadata.name, "p3");
  assert.equal(store.remove("b/p3"), undefined);
  assert.deepEqual(store.byIndex("node", "n2").map((p) => p.metadata.name), ["p2"]);
  assert.deepEqual(store.list("a").map((p) => p.metadata.name).sort(), ["p1", "p2"]);
  assert.equal(store.list("b").length, 0);
  assert.equal(store.size, 2);
  assert.throws(() => store.byIndex("zone", "x"), /store index "zone": not defined; defined are \[node\]/);
  assert.throws(() => store.addIndex("node", () => []), /store index "node": already defined/);
});

Deno.test("relistDiff: missing objects are deletes, new ones adds, changed resourceVersion or uid updates", () => {
  const cached = [pod("a", "gone", "1"), pod("a", "same", "5"), pod("a", "changed", "5")];
  const recreated = {
    ...pod("a", "same", "5"),
    metadata: { ...pod("a", "same", "5").metadata, uid: "new-uid" },
  };
  const listed = [recreated, pod("a", "changed", "9"), pod("a", "new", "3")];
  const diff = relistDiff(cached, listed);
  assert.deepEqual(diff.deletes.map((p) => p.metadata.name), ["gone"]);
  assert.deepEqual(diff.adds.map((p) => p.metadata.name), ["new"]);
  assert.deepEqual(
    diff.updates.map((u) =>
      `${u.obj.metadata.name} ${u.old.metadata.resourceVersion}->${u.obj.metadata.resourceVersion}`
    ),
    [
      "same 5->5",
      "changed 5->9",
    ],
  );
  assert.deepEqual(relistDiff(listed, listed), { adds: [], updates: [], deletes: [] });
});

Deno.test("dropManagedFields removes managedFields and keeps the rest", () => {
  const withFields = {
    metadata: { name: "p", managedFields: [{ manager: "kubectl" }], labels: { a: "b" } },
  } as Pod;
  const trimmed = dropManagedFields(withFields);
  assert.deepEqual(trimmed, { metadata: { name: "p", labels: { a: "b" } } });
  const plain = pod("a", "p", "1");
  assert.equal(dropManagedFields(plain), plain, "objects without managedFields are not copied");
});
