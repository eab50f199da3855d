/**
 * Informer against a real API server, with a pausable TCP proxy between them: a stalled watch is restarted and
 * later events arrive; a resourceVersion compacted away during a gap (410) leads to a relist whose diff delivers
 * the deletion that happened in the gap.
 */
import assert from "node:assert/strict";
import { type Cluster, startCluster } from "../harness/cluster.ts";
import { sleep, waitFor } from "../harness/wait.ts";
import { KubeClient } from "../../core/kube/client.ts";
import { dropManagedFields, Informer } from "../../core/kube/informer.ts";
import { ConfigMaps } from "../../core/kube/paths.ts";
import type { ConfigMap } from "../../core/kube/types.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PausableProxy } from "./_pausable_proxy.ts";

const CLUSTER_TEST = { sanitizeOps: false, sanitizeResources: false };
const logger = new RootLogger(Deno.env.get("ZEN_LEAD_TEST_LOG") === "debug" ? "debug" : "error");

/** Records handler calls as "add a", "update a", "delete a". */
function recorder(informer: Informer<ConfigMap>): string[] {
  const events: string[] = [];
  informer.addHandlers({
    add: (o) => events.push(`add ${o.metadata.name}`),
    update: (_old, o) => events.push(`update ${o.metadata.name}`),
    delete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  return events;
}

function restarts(metrics: MetricsRegistry, reason: string): number {
  return metrics.counter({
    name: "zen_lead_watch_restarts_total",
    help: "",
    labelNames: ["resource", "reason"],
  })
    .get({ resource: "configmaps", reason });
}

async function setup(cluster: Cluster, stallTimeoutMs: number) {
  const metrics = new MetricsRegistry();
  const admin = await KubeClient.fromKubeConfig(cluster.kubeConfig(), { metrics: new MetricsRegistry() });
  const url = new URL(cluster.server);
  const proxy = new PausableProxy({ hostname: url.hostname, port: Number(url.port) });
  const proxied = await KubeClient.fromKubeConfig(proxy.kubeConfig(cluster.kubeConfig()), {
    metrics,
    timeoutMs: 1000,
    maxRetries: 0,
  });
  const ns = await cluster.newNamespace("informer");
  const informer = new Informer<ConfigMap>({
    client: proxied,
    resource: ConfigMaps,
    namespaces: [ns],
    stallTimeoutMs,
    backoff: { baseMs: 100, maxMs: 400 },
    transform: dropManagedFields,
    logger,
    metrics,
  });
  const events = recorder(informer);
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  await informer.waitForSync();
  const cleanup = async () => {
    stop.abort();
    await running;
    await proxy.close();
    proxied.close();
    admin.close();
  };
  return { admin, proxy, informer, events, metrics, ns, cleanup };
}

const cm = (ns: string, name: string, labels: Record<string, string> = {}): ConfigMap => ({
  metadata: { namespace: ns, name, labels },
  data: { v: name },
});

Deno.test(
  { name: "informer: cache, indexes, namespaces and a stalled watch", ...CLUSTER_TEST },
  async (t) => {
    await using cluster = await startCluster({ quiet: true });

    await t.step(
      "caches trimmed objects, keeps indexes current and only watches its namespaces",
      async () => {
        const metrics = new MetricsRegistry();
        const client = await KubeClient.fromKubeConfig(cluster.kubeConfig(), { metrics });
        const [a, b, other] = [
          await cluster.newNamespace("inf-a"),
          await cluster.newNamespace("inf-b"),
          await cluster.newNamespace("inf-other"),
        ];
        for (let i = 0; i < 7; i++) {
          await client.create(
            ConfigMaps,
            cm(a, `pre-${i}`, { team: i % 2 ? "odd" : "even" }),
          );
        }
        const informer = new Informer<ConfigMap>({
          client,
          resource: ConfigMaps,
          namespaces: [a, b],
          pageSize: 3,
          transform: dropManagedFields,
          logger,
          metrics,
        });
        informer.addIndex("team", (o) => o.metadata.labels?.team ? [o.metadata.labels.team] : []);
        const events = recorder(informer);
        const stop = new AbortController();
        const running = informer.run(stop.signal);
        try {
          await informer.waitForSync();
          assert.ok(informer.hasSynced());
          // Paginated in pages of 3: all 7 arrived (plus each namespace's kube-root-ca.crt).
          assert.equal(informer.list(a).filter((o) => o.metadata.name?.startsWith("pre-")).length, 7);
          assert.equal(informer.byIndex("team", "odd").length, 3);
          assert.equal(
            (informer.get(`${a}/pre-1`)!.metadata as { managedFields?: unknown }).managedFields,
            undefined,
            "transform dropped managedFields",
          );
          await client.create(ConfigMaps, cm(b, "in-b", { team: "odd" }));
          await client.create(ConfigMaps, cm(other, "elsewhere", { team: "odd" }));
          await client.mergePatch(ConfigMaps, a, "pre-1", { metadata: { labels: { team: "even" } } });
          await client.delete(ConfigMaps, a, "pre-3");
          await waitFor(
            "the informer to see the changes",
            // The two namespaces' watches deliver independently: wait for the final set, not just its size.
            () => informer.byIndex("team", "odd").map((o) => o.metadata.name).sort().join() === "in-b,pre-5",
          );
          assert.deepEqual(
            informer.byIndex("team", "odd").map((o) => o.metadata.name).sort(),
            ["in-b", "pre-5"],
          );
          assert.ok(
            events.includes("update pre-1") && events.includes("delete pre-3") && events.includes("add in-b"),
          );
          await sleep(300);
          assert.equal(
            informer.get(`${other}/elsewhere`),
            undefined,
            "a namespace not listed is not watched",
          );
          // A handler added late gets the cache replayed as adds.
          const late: string[] = [];
          informer.addHandlers({
            add: (o) => late.push(o.metadata.name!),
          });
          assert.equal(late.length, informer.size);
        } finally {
          stop.abort();
          await running;
          client.close();
        }
      },
    );

    await t.step("a watch that stalls is restarted and events after the stall arrive", async () => {
      const s = await setup(cluster, 1500);
      try {
        await s.admin.create(ConfigMaps, cm(s.ns, "before"));
        await waitFor("before in the cache", () => s.informer.get(`${s.ns}/before`));
        const stallsBefore = restarts(s.metrics, "stall");
        s.proxy.pause();
        await s.admin.create(ConfigMaps, cm(s.ns, "during"));
        await waitFor("a stall restart", () => restarts(s.metrics, "stall") > stallsBefore, {
          timeoutMs: 10_000,
        });
        assert.equal(s.informer.get(`${s.ns}/during`), undefined, "nothing flows while paused");
        s.proxy.resume();
        const resumed = Date.now();
        await waitFor("during in the cache", () => s.informer.get(`${s.ns}/during`), { timeoutMs: 15_000 });
        console.log(`  stall: events flowed again ${Date.now() - resumed} ms after the proxy resumed`);
        await s.admin.create(ConfigMaps, cm(s.ns, "after"));
        await waitFor("after in the cache", () => s.informer.get(`${s.ns}/after`));
        const order = s.events.filter((e) => /before|during|after/.test(e));
        assert.deepEqual(order, ["add before", "add during", "add after"]);
      } finally {
        await s.cleanup();
      }
    });
  },
);

Deno.test({
  name: "informer: 410 Gone after compaction relists and delivers the missed deletion",
  ...CLUSTER_TEST,
}, async () => {
  // Without the watch cache, watches are served by etcd, and a compacted resourceVersion gives 410 at once.
  await using cluster = await startCluster({
    quiet: true,
    extraArgs: { apiserver: ["--watch-cache=false", "--etcd-compaction-interval=1s"] },
  });
  // A long stall timeout: this test is about the gap, not about stall detection.
  const s = await setup(cluster, 60_000);
  try {
    await s.admin.create(ConfigMaps, cm(s.ns, "victim"));
    await s.admin.create(ConfigMaps, cm(s.ns, "survivor"));
    await waitFor(
      "both in the cache",
      () => s.informer.get(`${s.ns}/victim`) && s.informer.get(`${s.ns}/survivor`),
    );
    s.proxy.pause();
    await s.admin.delete(ConfigMaps, s.ns, "victim");
    await s.admin.mergePatch(ConfigMaps, s.ns, "survivor", { data: { v: "changed" } });
    await s.admin.create(ConfigMaps, cm(s.ns, "newcomer"));
    // Cut the watch so it must resume from its old resourceVersion, then let compaction pass that version.
    s.proxy.cutConnections();
    await sleep(4000);
    s.proxy.resume();
    await waitFor("the deletion delivered by the relist", () => s.events.includes("delete victim"), {
      timeoutMs: 20_000,
    });
    assert.ok(restarts(s.metrics, "expired") >= 1, "the watch saw 410 and relisted");
    assert.equal(s.informer.get(`${s.ns}/victim`), undefined);
    assert.equal(s.informer.get(`${s.ns}/survivor`)?.data?.v, "changed");
    assert.ok(s.events.includes("update survivor") && s.events.includes("add newcomer"), s.events.join(", "));
  } finally {
    await s.cleanup();
  }
});
