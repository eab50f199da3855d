/**
 * Writes held while a cache is stale: the controller reaches the API server through a pausable proxy; while it
 * is paused the watches stall, the caches turn stale after `--watch-stall-timeout`, every reconcile is held
 * (no decision, no write) and the routing stays as written; a readiness flip made during the stall is routed
 * as soon as the relist after the proxy resumes is in.
 */
import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { startZenLead, type ZenLeadHandle } from "../../app/start.ts";
import { PausableProxy } from "../integration/_pausable_proxy.ts";
import { CONTROLLER_ARGS, CONTROLLER_NS, e2eTest, startE2E } from "./_env.ts";
import { routedPods, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";

e2eTest(
  "a stalled controller holds its writes until it relisted, then routes the flip made meanwhile",
  async () => {
    const env = await startE2E();
    let proxy: PausableProxy | undefined;
    let h: ZenLeadHandle | undefined;
    try {
      const ns = await env.cluster.newNamespace("stale");
      await agedPods(env.kubelet, ns, ["web-0", "web-1", "web-2"]);
      await createOptedIn(env.client, ns, "web");
      const kc = new KubeConfig();
      kc.loadFromFile(env.saKubeconfig);
      const server = new URL(kc.getCurrentCluster()!.server);
      proxy = new PausableProxy({ hostname: server.hostname, port: Number(server.port) });
      const path = await Deno.makeTempFile({ suffix: ".kubeconfig" });
      await Deno.writeTextFile(path, proxy.kubeConfig(kc).exportConfig());
      h = await startZenLead(
        ["--kubeconfig", path, ...CONTROLLER_ARGS, "--leader-elect=false", "--watch-stall-timeout=4s"],
        { env: { POD_NAMESPACE: CONTROLLER_NS } },
      );
      const routed = async () => (await routedPods(env.client, ns, "web-leader"))?.[0];
      await waitFor("web-0 routed", async () => (await routed()) === "web-0" || undefined, 30_000);
      const reconciles = h.metrics.counter({
        name: "zen_lead_reconciliations_total",
        help: "",
        labelNames: ["result"],
      });
      const stale = h.metrics.gauge({ name: "zen_lead_cache_stale", help: "", labelNames: ["resource"] });

      proxy.pause();
      const pausedAt = performance.now();
      await env.kubelet.setPodReady(ns, "web-0", false); // unseen: the controller's watches are stalled
      const controller = h.controller;
      await waitFor(
        "the pod cache stale",
        () => Promise.resolve(!controller.pods.staleness.fresh() || undefined),
        10_000,
      );
      const staleAfterMs = performance.now() - pausedAt;
      assert.equal(stale.get({ resource: "pods" }), 1);
      assert.equal(controller.caches.fresh(`${ns}/web`), false);
      const successBefore = reconciles.get({ result: "success" });
      controller.enqueueAll(); // what a configuration change or a new term would do
      await waitFor(
        "the reconcile held",
        () => Promise.resolve(reconciles.get({ result: "held" }) > 0 || undefined),
        5_000,
      );
      assert.equal(
        reconciles.get({ result: "success" }),
        successBefore,
        "no decision ran from a stale cache",
      );
      assert.equal(await routed(), "web-0", "the last routing stays as written");

      proxy.resume();
      const resumedAt = performance.now();
      await waitFor(
        "web-1 routed after the relist",
        async () => (await routed()) === "web-1" || undefined,
        15_000,
      );
      const routedMs = performance.now() - resumedAt;
      assert.ok(controller.caches.fresh(), "fresh once relisted");
      assert.equal(controller.caches.heldKeys, 0, "every held Service was released");
      assert.equal(stale.get({ resource: "pods" }), 0);
      console.log(
        `  stale ${staleAfterMs.toFixed(0)} ms after the stall began (bound 4 s); ` +
          `${reconciles.get({ result: "held" })} reconciles held; the flip made during the stall routed ` +
          `${routedMs.toFixed(0)} ms after the proxy resumed`,
      );
    } finally {
      await h?.stop(2000).catch(() => {});
      await proxy?.close();
      await env.stop();
    }
  },
);
