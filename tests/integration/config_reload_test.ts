// The ConfigReloader fed by a watch on a real API server: edits reconfigure the kernel, bad edits are refused
// with an Event on the ConfigMap while the last good configuration keeps working.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CoreV1Api, type CoreV1Event, type V1ConfigMap, Watch } from "@kubernetes/client-node";
import { parseAllowList } from "../../core/plugin/module_policy.ts";
import { ConfigReloader, INVALID_CONFIGURATION } from "../../core/config/reloader.ts";
import { defaultSettings } from "../../core/config/controller_settings.ts";
import type { ConfigMap } from "../../core/kube/types.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PluginKernel } from "../../core/plugin/kernel.ts";
import type { Candidate, PluginDefinition, StrategyInput } from "../../core/plugin/types.ts";
import { builtinStrategies, rankOldest } from "../../strategies/mod.ts";
import { startCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

// client-node keeps HTTP connections alive across steps.
const CLUSTER_TEST = { sanitizeOps: false, sanitizeResources: false };
const NAME = "zen-lead-config";
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

function candidate(name: string, createdAt: number, zone: string): Candidate {
  return {
    pod: {
      namespace: "n",
      name,
      uid: name,
      ip: "10.0.0.1",
      labels: {},
      annotations: {},
      createdAt,
      ports: [],
    },
    node: { name: `node-${name}`, ready: true, unschedulable: false, taints: [], labels: {}, zone },
    priority: 0,
  };
}

const input: StrategyInput = {
  service: { namespace: "n", name: "svc", uid: "svc", annotations: {} },
  candidates: [candidate("us-pod", 1, "us-1"), candidate("eu-pod", 2, "eu-1")],
  currentLeaders: [],
  count: 1,
  options: {},
  seed: "s",
  now: 0,
};

function configYaml(zone: unknown): string {
  return [
    "controller:",
    "  maxConcurrentReconciles: 4",
    "defaults:",
    "  strategy: zone-first",
    "plugins:",
    "  - name: zone-first",
    "    module: ./examples/zone-first-strategy.ts",
    `    options: { preferredZone: ${JSON.stringify(zone)} }`,
  ].join("\n");
}

Deno.test({
  name:
    "a ConfigMap edited through the API reconfigures the kernel; an invalid edit is refused with an Event",
  ...CLUSTER_TEST,
  fn: async () => {
    await using cluster = await startCluster();
    const kc = cluster.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await cluster.newNamespace("config-reload");

    const metrics = new MetricsRegistry();
    const logger = new RootLogger("error", () => {});
    const kernel = new PluginKernel({
      plugins: builtinStrategies as readonly PluginDefinition[],
      lastResortRanking: rankOldest,
      logger,
      metrics,
    });
    let latest: V1ConfigMap | undefined;
    const reloader = new ConfigReloader({
      kernel,
      logger,
      metrics,
      flags: {},
      defaults: defaultSettings({ POD_NAMESPACE: namespace }),
      baseDir: repoRoot,
      moduleAllow: parseAllowList("./examples/", repoRoot),
      // what the controller's event recorder does: a core/v1 Event whose involvedObject is the ConfigMap.
      recordEvent: async (reason, message) => {
        const now = new Date();
        await core.createNamespacedEvent({
          namespace,
          body: {
            metadata: { generateName: `${NAME}.` },
            involvedObject: {
              apiVersion: "v1",
              kind: "ConfigMap",
              namespace,
              name: NAME,
              uid: latest?.metadata?.uid,
              resourceVersion: latest?.metadata?.resourceVersion,
            },
            reason,
            message,
            type: "Warning",
            source: { component: "zen-lead" },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      },
    });
    await kernel.configure([]);
    const applied: string[] = [];
    const refused: string[] = [];

    // a single watch stands in for the controller's informer: each version goes to apply().
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { fieldSelector: `metadata.name=${NAME}` },
      (phase: string, obj: V1ConfigMap) => {
        if (phase !== "ADDED" && phase !== "MODIFIED" && phase !== "DELETED") return;
        latest = obj;
        const version = obj.metadata?.resourceVersion ?? "";
        reloader.apply(phase === "DELETED" ? undefined : (obj as ConfigMap)).then((result) => {
          (result.ok ? applied : refused).push(phase === "DELETED" ? "deleted" : version);
        });
      },
      () => {},
    );

    try {
      const created = await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: NAME }, data: { "config.yaml": configYaml("eu-1") } },
      });
      await waitFor(
        "the first ConfigMap version applied",
        () => applied.includes(created.metadata!.resourceVersion!),
      );
      assert.equal(reloader.current?.settings.maxConcurrentReconciles, 4);
      assert.equal(kernel.strategy("zone-first").rank(input)[0], "eu-pod");

      const started = performance.now();
      const edited = await core.replaceNamespacedConfigMap({
        name: NAME,
        namespace,
        body: { metadata: { name: NAME }, data: { "config.yaml": configYaml("us-1") } },
      });
      await waitFor("the edit applied", () => applied.includes(edited.metadata!.resourceVersion!));
      console.error(
        `[config-reload] edit applied ${(performance.now() - started).toFixed(0)} ms after the PUT`,
      );
      assert.equal(kernel.strategy("zone-first").rank(input)[0], "us-pod");

      const invalid = await core.replaceNamespacedConfigMap({
        name: NAME,
        namespace,
        body: { metadata: { name: NAME }, data: { "config.yaml": configYaml(5) } },
      });
      await waitFor("the invalid edit refused", () => refused.includes(invalid.metadata!.resourceVersion!));
      const reason = 'plugin "zone-first" (strategy): options.preferredZone: expected string, received 5';
      const event = await waitFor("the InvalidConfiguration event", async () => {
        const events = await core.listNamespacedEvent({ namespace });
        return events.items.find((e: CoreV1Event) => e.reason === INVALID_CONFIGURATION);
      });
      assert.equal(event.type, "Warning");
      assert.equal(event.involvedObject.kind, "ConfigMap");
      assert.equal(event.involvedObject.name, NAME);
      assert.equal(event.involvedObject.uid, created.metadata!.uid);
      assert.equal(
        event.message,
        `config.yaml refused, the previous configuration stays in force: ${reason}`,
      );
      assert.equal(reloader.current?.resourceVersion, edited.metadata!.resourceVersion, "the last good one");
      assert.equal(
        kernel.strategy("zone-first").rank(input)[0],
        "us-pod",
        "the old configuration keeps working",
      );
      assert.equal(metrics.counter({ name: "zen_lead_config_reload_errors_total", help: "" }).get(), 1);

      await core.deleteNamespacedConfigMap({ name: NAME, namespace });
      await waitFor("defaults after the ConfigMap is deleted", () => applied.includes("deleted"));
      assert.equal(kernel.has("strategy", "zone-first"), false);
      assert.equal(reloader.current?.settings.maxConcurrentReconciles, 10);
    } finally {
      watch.abort();
      await kernel.close();
    }
  },
});
