import assert from "node:assert/strict";
import { WriteOverlay } from "../../core/controller/overlay.ts";
import type { PluginAccess } from "../../core/controller/plugin_access.ts";
import { ServiceReader, type ServiceSnapshot, type Snapshot } from "../../core/controller/read.ts";
import { SettingsMemo } from "../../core/controller/settings_memo.ts";
import { INDEX } from "../../core/controller/stores.ts";
import type { EndpointSlice, KubeObject, Pod, Service } from "../../core/kube/types.ts";
import { objectKey } from "../../core/kube/types.ts";
import type { LeaderStrategy } from "../../core/plugin/types.ts";
import { readyChecker } from "../../health/ready.ts";
import oldestPlugin from "../../strategies/oldest.ts";
import { pod, service } from "./_leader_fixtures.ts";

const oldest = oldestPlugin.setup({} as never) as LeaderStrategy;

/** The snapshot of an opted-in Service (fails the test for any other kind). */
function opted(s: Snapshot): ServiceSnapshot {
  if (s.kind !== "optedIn") throw new assert.AssertionError({ message: `expected optedIn, got ${s.kind}` });
  return s;
}

/** An informer-like store over a list, indexed as the controller's sources are. */
function store<T extends KubeObject>(objs: T[], index: (o: T) => Record<string, string[]>) {
  return {
    get: (key: string) => objs.find((o) => objectKey(o) === key),
    byIndex: (name: string, value: string) => objs.filter((o) => index(o)[name]?.includes(value)),
  };
}

const managed = { "app.kubernetes.io/managed-by": "zen-lead", "zen-lead.io/source-service": "web" };
const sourceOf = (o: KubeObject) => ({
  [INDEX.source]: o.metadata.labels?.["zen-lead.io/source-service"] ? ["ns/web"] : [],
});

function reader(
  o: {
    services?: Service[];
    slices?: EndpointSlice[];
    pods?: Pod[];
    getSlice?: () => Promise<EndpointSlice | undefined>;
  },
) {
  const gets: string[] = [];
  const plugins: PluginAccess = {
    settingsContext: () => ({
      defaultStrategy: "oldest",
      defaultSticky: true,
      defaultHealthCheck: "ready",
      defaultFailMode: "open",
      strategyDefaults: {},
      strategies: ["oldest"],
      strategyOptionsSchema: () => undefined,
      healthTypes: ["ready"],
      healthChecker: (n: string) => n === "ready" ? readyChecker : undefined,
      backends: [],
    }),
    strategy: () => oldest,
    backend: () => undefined,
  };
  const overlay = { services: new WriteOverlay<Service>(), slices: new WriteOverlay<EndpointSlice>() };
  const r = new ServiceReader({
    stores: {
      services: store(o.services ?? [], (s) => ({ ...sourceOf(s), [INDEX.namespace]: ["ns"] })),
      slices: store(o.slices ?? [], sourceOf),
      pods: store(o.pods ?? [], (p) => ({ [INDEX.namespace]: [p.metadata.namespace ?? ""] })),
    },
    overlay,
    plugins,
    healthOf: (_key, uid) => uid === "uid-a" ? true : undefined,
    trigger: () => ({ at: 5, cause: "podAdded" }),
    settingsMemo: new SettingsMemo(10),
    lastGood: () => undefined,
    api: {
      getSlice: (_ns, name) => {
        gets.push(name);
        return o.getSlice?.() ?? Promise.resolve(undefined);
      },
    },
    now: () => 1000,
  });
  return { r, gets, overlay };
}

Deno.test("read: a Service absent, opted out or without a selector is read as such", async () => {
  assert.equal((await reader({}).r.read("ns/web")).kind, "gone");
  const out = service({ annotations: { "zen-lead.io/enabled": "false" } });
  assert.equal((await reader({ services: [out] }).r.read("ns/web")).kind, "gone");
  const bare = service({ selector: {} });
  assert.equal((await reader({ services: [bare] }).r.read("ns/web")).kind, "noSelector");
});

Deno.test("read: the snapshot holds the selected pods, who routes now, health, trigger and time", async () => {
  const a = pod({ name: "a" }), other = pod({ name: "x", labels: { app: "other" } });
  const slice: EndpointSlice = {
    metadata: { name: "web-leader", namespace: "ns", labels: managed },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.0.0.1"], targetRef: { kind: "Pod", name: "a", uid: "uid-a" } }],
  };
  const { r, gets } = reader({ services: [service()], slices: [slice], pods: [a, other] });
  const s = opted(await r.read("ns/web"));
  assert.equal(s.kind, "optedIn");
  assert.deepEqual(s.pods.map((p) => p.metadata.name), ["a"]);
  assert.deepEqual(s.currentLeaders, ["uid-a"]);
  assert.equal(s.health.get("uid-a"), true);
  assert.deepEqual([s.trigger?.cause, s.now, s.leaderName], ["podAdded", 1000, "web-leader"]);
  assert.deepEqual(gets, [], "no API read without a stranger's slice on record");
  const after = r.afterProbe({ ...s, currentLeaders: [] }, new Set(["uid-a"]));
  assert.equal(after.health.get("uid-a"), true);
});

Deno.test("read: a name a stranger's slice held is asked about again, only while it is still the name wanted", async () => {
  const stranger: EndpointSlice = {
    metadata: { name: "web-leader", namespace: "ns", labels: { app: "theirs" } },
    addressType: "IPv4",
    endpoints: [],
  };
  const held = reader({ services: [service()], getSlice: () => Promise.resolve(stranger) });
  assert.equal(opted(await held.r.read("ns/web", "web-leader")).strangerSlice, true);
  assert.deepEqual(held.gets, ["web-leader"]);
  const gone = reader({ services: [service()] });
  assert.equal(opted(await gone.r.read("ns/web", "web-leader")).strangerSlice, false);
  const renamed = reader({ services: [service()] });
  assert.equal(opted(await renamed.r.read("ns/web", "old-name")).strangerSlice, undefined);
  assert.deepEqual(renamed.gets, []);
});

Deno.test("read: our own write not yet on the watch is what the snapshot sees", async () => {
  const { r, overlay } = reader({ services: [service()] });
  const written: Service = {
    metadata: { name: "web-leader", namespace: "ns", labels: managed, resourceVersion: "9", uid: "L" },
  };
  overlay.services.remember("ns/web-leader", written);
  const s = opted(await r.read("ns/web"));
  assert.equal(s.observedService?.metadata.uid, "L");
});
