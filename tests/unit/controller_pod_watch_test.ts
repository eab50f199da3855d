import assert from "node:assert/strict";
import { PodWatchScopes } from "../../core/controller/pod_scopes.ts";

/** A pod informer's scope surface: namespaces listed once set. */
function fakePods() {
  const synced = new Set<string>();
  const pods = {
    watchedScopes: [] as string[],
    sets: [] as string[][],
    scopeSynced: (ns: string) => synced.has(ns),
    scopeListed: (ns: string) => synced.has(ns),
    setScopes(ns: Iterable<string>) {
      pods.watchedScopes = [...ns];
      pods.sets.push(pods.watchedScopes);
    },
  };
  return { pods, synced };
}

Deno.test("pod watch: scopes follow opted-in namespaces only once the Services are listed", () => {
  const opted = new Map<string, string[]>([["a", ["a/web"]]]);
  const { pods, synced } = fakePods();
  const scopes = new PodWatchScopes({
    optedInServices: (ns) => opted.get(ns) ?? [],
    isOptedIn: (key) => [...opted.values()].flat().includes(key),
    pods,
    installNamespaces: [],
    backendsEnabled: () => false,
    maxNamespaces: 100,
  });
  scopes.noteNamespace("a");
  assert.deepEqual(pods.sets, [], "nothing is watched before the Services are listed");
  scopes.start();
  assert.deepEqual(pods.watchedScopes, ["a"]);
  // A reconcile of a Service whose namespace's pods are not listed waits; one not opted in does not.
  assert.equal(scopes.podsCachedFor("a/web"), false);
  assert.equal(scopes.podsCachedFor("b/other"), true);
  synced.add("a");
  assert.equal(scopes.podsCachedFor("a/web"), true);
  opted.set("b", ["b/api"]);
  scopes.noteNamespace("b");
  assert.deepEqual(pods.watchedScopes, ["a", "b"]);
  opted.delete("a");
  scopes.noteNamespace("a");
  assert.deepEqual(pods.watchedScopes, ["b"]);
  assert.equal(pods.sets.length, 3, "each change of the opted-in set moves the watch once");
});
