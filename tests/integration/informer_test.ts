/**
 * Informer against a real API server, with a pausable TCP proxy between them: an idle watch with timeoutSeconds
 * ends cleanly at its deadline, after a bookmark when the resource moved (what the stall bound rests on); a
 * healthy idle informer never trips the bound; a stalled watch is restarted within the bound, its scope is stale until the relist is in, and the
 * cache then holds the event made during the stall; a gap in the watch relists, and the diff delivers the
 * deletion that happened in the gap.
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

function relists(metrics: MetricsRegistry): number {
  return metrics.counter({ name: "zen_lead_watch_relists_total", help: "", labelNames: ["resource"] })
    .get({ resource: "configmaps" });
}

function staleGauge(metrics: MetricsRegistry): number {
  return metrics.gauge({ name: "zen_lead_cache_stale", help: "", labelNames: ["resource"] })
    .get({ resource: "configmaps" });
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

    await t.step(
      "an idle watch with timeoutSeconds gets a bookmark before its deadline, then ends cleanly",
      async () => {
        const client = await KubeClient.fromKubeConfig(cluster.kubeConfig(), {
          metrics: new MetricsRegistry(),
        });
        const [ns, other] = [
          await cluster.newNamespace("bookmark"),
          await cluster.newNamespace("bookmark-other"),
        ];
        try {
          const list = await client.list<ConfigMap>(ConfigMaps, { namespace: ns });
          // Nothing changes in `ns`: each stream carries bookmarks only.
          const one = async (timeoutSeconds: number) => {
            const opened = performance.now();
            const bookmarks: number[] = [];
            for await (
              const e of client.watch<ConfigMap>(`/api/v1/namespaces/${ns}/configmaps`, {
                resourceVersion: list.metadata.resourceVersion,
                allowWatchBookmarks: true,
                timeoutSeconds,
              }, new AbortController().signal)
            ) {
              assert.equal(e.type, "BOOKMARK", `an idle watch delivers only bookmarks, got ${e.type}`);
              bookmarks.push((performance.now() - opened) / 1000);
            }
            return { timeoutSeconds, bookmarks, endedS: (performance.now() - opened) / 1000 };
          };
          const show = (r: Awaited<ReturnType<typeof one>>) =>
            `T=${r.timeoutSeconds}: bookmark at [${r.bookmarks.map((b) => b.toFixed(2)).join(", ")}] s, ` +
            `ended at ${r.endedS.toFixed(2)} s`;
          // A configmap elsewhere moves the watch cache's resourceVersion past the watches' own: the cache sends a
          // bookmark only when it would move a watch forward.
          const moved = Promise.all([3, 4, 5, 7, 7, 10].map(one));
          await sleep(300);
          await client.create(ConfigMaps, cm(other, "elsewhere"));
          for (const r of await moved) {
            console.log(`  ${show(r)}`);
            assert.ok(r.bookmarks.length >= 1, `a bookmark before the deadline: ${show(r)}`);
            // Aimed 2 s before the deadline, within its 1 s buckets and jittered 1-1.25 s timer.
            assert.ok(r.bookmarks[0] < r.timeoutSeconds - 0.7, `bookmark before T-0.7 s: ${show(r)}`);
            assert.ok(Math.abs(r.endedS - r.timeoutSeconds) < 0.7, `ended at T: ${show(r)}`);
          }
          // Nothing changed anywhere since: no bookmark (the watch's resourceVersion is current), the clean end at T.
          const still = await one(4);
          console.log(`  unchanged: ${show(still)}`);
          assert.ok(Math.abs(still.endedS - 4) < 0.7, show(still));
        } finally {
          client.close();
        }
      },
    );

    await t.step(
      "a healthy idle informer never trips a short stall bound: its watches end cleanly",
      async () => {
        const s = await setup(cluster, 5_000); // timeoutSeconds 3 or 4
        try {
          const started = Date.now();
          await sleep(20_000);
          const closed = restarts(s.metrics, "closed");
          console.log(
            `  idle 20 s at a 5 s stall bound: ${closed} clean reopens (${(closed / 20).toFixed(2)}/s), ` +
              `${restarts(s.metrics, "stall")} stalls, ${relists(s.metrics)} list(s)`,
          );
          assert.equal(restarts(s.metrics, "stall"), 0, "no stall restart of a healthy watch");
          assert.equal(restarts(s.metrics, "error"), 0);
          assert.ok(
            closed >= 4,
            `the server ended the watch every 3-4 s (${closed} in ${Date.now() - started} ms)`,
          );
          assert.equal(relists(s.metrics), 1, "reopened from the bookmark: no relist");
          assert.equal(staleGauge(s.metrics), 0);
        } finally {
          await s.cleanup();
        }
      },
    );

    await t.step(
      "a stalled watch is restarted within the bound; stale until the relist holds what changed",
      async () => {
        const STALL_MS = 8_000; // the default (renew deadline 10 s - retry period 2 s)
        const s = await setup(cluster, STALL_MS);
        try {
          await s.admin.create(ConfigMaps, cm(s.ns, "before"));
          await waitFor("before in the cache", () => s.informer.get(`${s.ns}/before`));
          // A stall of an open stream, or of a reopen whose headers never come: either way, within the bound.
          const stalled = () => restarts(s.metrics, "stall") + restarts(s.metrics, "error");
          const stallsBefore = stalled();
          // When the cache turns fresh again, it must already hold what changed during the stall.
          let duringWhenFresh: boolean | undefined;
          s.informer.staleness.onFresh(() =>
            duringWhenFresh ??= s.informer.get(`${s.ns}/during`) !== undefined
          );
          s.proxy.pause();
          const pausedAt = Date.now();
          await s.admin.create(ConfigMaps, cm(s.ns, "during"));
          await waitFor("a stall restart", () => stalled() > stallsBefore, {
            timeoutMs: STALL_MS + 2_000,
          });
          const detectedMs = Date.now() - pausedAt;
          assert.ok(detectedMs <= STALL_MS + 500, `restarted ${detectedMs} ms after the stall began`);
          assert.equal(s.informer.staleness.fresh(), false, "stale from the stall on");
          assert.equal(s.informer.staleness.fresh(s.ns), false);
          assert.equal(staleGauge(s.metrics), 1);
          assert.equal(s.informer.get(`${s.ns}/during`), undefined, "nothing flows while paused");
          s.proxy.resume();
          const resumed = Date.now();
          await waitFor("during in the cache", () => s.informer.get(`${s.ns}/during`), { timeoutMs: 15_000 });
          await waitFor("fresh again", () => s.informer.staleness.fresh());
          console.log(
            `  stall: restarted ${detectedMs} ms after it began (bound ${STALL_MS} ms); caught up ` +
              `${Date.now() - resumed} ms after the proxy resumed`,
          );
          assert.equal(duringWhenFresh, true, "fresh only once the event made during the stall is cached");
          assert.equal(staleGauge(s.metrics), 0);
          await s.admin.create(ConfigMaps, cm(s.ns, "after"));
          await waitFor("after in the cache", () => s.informer.get(`${s.ns}/after`));
          const order = s.events.filter((e) => /before|during|after/.test(e));
          assert.deepEqual(order, ["add before", "add during", "add after"]);
        } finally {
          await s.cleanup();
        }
      },
    );
  },
);

Deno.test({
  name:
    "informer: a gap in the watch (cut, resourceVersion compacted) relists and delivers the missed deletion",
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
    // A watch that failed relists (its scope stale meanwhile) rather than resuming into a 410.
    assert.ok(relists(s.metrics) >= 2, "relisted after the gap");
    assert.ok(restarts(s.metrics, "error") + restarts(s.metrics, "expired") >= 1);
    assert.ok(s.informer.staleness.fresh(), "fresh once the relist is applied");
    assert.equal(s.informer.get(`${s.ns}/victim`), undefined);
    assert.equal(s.informer.get(`${s.ns}/survivor`)?.data?.v, "changed");
    assert.ok(s.events.includes("update survivor") && s.events.includes("add newcomer"), s.events.join(", "));
  } finally {
    await s.cleanup();
  }
});
