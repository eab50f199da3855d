/**
 * The benchmark at 100 Services on a local control plane, through the same code as `deno task bench`: asserts
 * correctness (every leader right after convergence, every sampled failover completed to an eligible pod, the
 * published fields), never time.
 */
import assert from "node:assert/strict";
import { startCluster } from "../harness/cluster.ts";
import { runScale } from "../../bench/run.ts";
import { scaleResult } from "../../bench/report.ts";
import { e2eTest } from "./_env.ts";

const SERVICES = 100;
const SAMPLES = 100;

e2eTest(
  "bench smoke: 100 Services converge, and every sampled failover (readiness, deletion) completes",
  async () => {
    const cluster = await startCluster();
    const logDir = await Deno.makeTempDir({ prefix: "zen-lead-bench-smoke-" });
    try {
      const d = await runScale(
        {
          name: "local control plane (smoke)",
          kubeconfigPath: cluster.kubeconfigPath,
          kubeConfig: () => cluster.kubeConfig(),
          disposable: true,
        },
        {
          services: SERVICES,
          podsPerService: 3,
          // Two namespaces: leaders are chosen per namespace and selector, never across.
          servicesPerNamespace: SERVICES / 2,
          samples: SAMPLES,
          churnMinutes: 0,
          churnRate: 1,
          controllerArgs: [],
          createConcurrency: 32,
          failoverTimeoutMs: 10_000,
          paceMs: 100,
          convergenceTimeoutS: 120,
          // A small cluster's rest: pods and Services nothing opts in, with pod updates among them.
          background: { pods: 400, services: 40, namespaces: 4, churnPerSecond: 20, churnSeconds: 3 },
          logDir,
        },
        (line) => console.log(`[bench smoke] ${line}`),
      );
      assert.deepEqual(d.convergenceWrong, [], "every leader right after convergence");
      assert.ok(Number.isFinite(d.convergenceS), "converged");
      assert.deepEqual(d.failures, [], "every failover completed, and every floor sample was seen");
      assert.equal(d.failover.readiness.count, SAMPLES);
      assert.equal(d.failover.deletion.count, SAMPLES);
      for (const s of d.samples) assert.notEqual(s.to, s.from, `${s.service}: the leader moved`);
      assert.ok(
        d.writes.controllerFailovers >= 2 * SAMPLES,
        `the controller counted ${d.writes.controllerFailovers} failovers`,
      );
      assert.equal(d.writes.managedPerFailover, 2, "one slice and one leader Service write per failover");
      assert.deepEqual(d.finalWrong, [], "every leader right at the end");
      const r = scaleResult(d);
      assert.deepEqual(Object.keys(r), [
        "services",
        "pods",
        "convergence_s",
        "failover_ms",
        "floor_ms",
        "chain_floor_ms",
        "ratio_p50",
        "ratio_p99",
        "ready_s",
        "metrics_scrape",
        "background",
        "rss_mb",
        "heap_mb",
        "heap_post_gc_mb",
        "cpu_s",
        "writes_per_failover",
      ]);
      // The post-GC readings came through the controller's inspector: a live heap of some MB, RSS above it.
      const gc = d.memory.afterFailoversPostGc;
      assert.ok(
        gc && gc.heapUsedMb > 5 && gc.heapUsedMb <= gc.heapTotalMb && gc.rssMb > gc.heapUsedMb,
        JSON.stringify(gc),
      );
      assert.ok(r.heap_post_gc_mb && r.heap_post_gc_mb.steady > 5, JSON.stringify(r.heap_post_gc_mb));
      // Only the opted-in Services' pods are cached: not the background's, not the floor pod's.
      assert.equal(d.cachedObjects.pods, 300, JSON.stringify(d.cachedObjects));
      assert.ok(d.background && d.background.churnUpdates >= 40 && d.background.churnFailed === 0);
      assert.ok(r.chain_floor_ms.p50 > 0 && r.metrics_scrape.kib > 0, JSON.stringify(r));
      assert.deepEqual(Object.keys(r.failover_ms), ["p50", "p90", "p99", "max"]);
      assert.deepEqual(Object.keys(r.floor_ms), ["p50", "p99"]);
      assert.equal(r.pods, 300);
      assert.ok(r.rss_mb > 0 && r.heap_mb > 0 && r.cpu_s > 0, JSON.stringify(r));
    } finally {
      await cluster.stop();
      await Deno.remove(logDir, { recursive: true }).catch(() => {});
    }
  },
);
