/**
 * Every query of the Grafana dashboard (deploy/helm/zen-lead/files/dashboard.json) against a real Prometheus
 * that scrapes a controller which just failed over: HTTP health checks on real servers, the Azure engine against
 * the ARM emulator, a Service whose leader cannot be created (a ResourceQuota refuses it: reconcile errors and
 * queue retries), and the SLO recording rules of the chart's alerts.yaml loaded. Each query must return data.
 */
import assert from "node:assert/strict";
import { ConfigMaps, type ResourceType, Services } from "../../core/kube/paths.ts";
import type { KubeObject, Service } from "../../core/kube/types.ts";
import { type ArmEmulator, startArmEmulator } from "../emulators/arm/emulator.ts";
import { defineStrategy } from "../../mod.ts";
import { scrape } from "./_metrics.ts";
import { CONTROLLER_NS, type E2E, e2eTest, ROOT, startE2E } from "./_env.ts";
import { routedPods, waitFor } from "./_reads.ts";
import { createOptedIn, HTTP_PORT, optedInService } from "./_fixtures.ts";
import { azureBackendConfigMap } from "./_azure.ts";
import { type Prometheus, startPrometheus, zenLeadScrapeConfig } from "./_prometheus.ts";
import { type HttpTarget, podAddress, startHttpTarget } from "./_servers.ts";

const admission = { group: "admissionregistration.k8s.io", version: "v1", namespaced: false };
const Policies: ResourceType = {
  ...admission,
  plural: "validatingadmissionpolicies",
  kind: "ValidatingAdmissionPolicy",
};
const PolicyBindings: ResourceType = {
  ...admission,
  plural: "validatingadmissionpolicybindings",
  kind: "ValidatingAdmissionPolicyBinding",
};

let env: E2E;
let prom: Prometheus | undefined;
let arm: ArmEmulator;
let metricsPort = 0;
const targets: HttpTarget[] = [];

/** A strategy that always throws: its errors are counted and the default strategy takes over. */
const broken = defineStrategy({
  name: "broken",
  version: "1.0.0",
  description: "throws on every rank (dashboard test)",
  setup: () => ({
    rank: () => {
      throw new Error("broken on purpose");
    },
  }),
});

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

e2eTest("setup: controller with health checks, the Azure engine and a failover behind it", async () => {
  arm = startArmEmulator();
  env = await startE2E();
  await env.client.create(ConfigMaps, azureBackendConfigMap(arm.url));
  const h = await env.startController([], { extraPlugins: [broken] });
  metricsPort = h.metricsPort;
  await h.activated;

  // Prometheus scrapes from before the failover, so rate() sees the counters move.
  prom = await startPrometheus("zen-lead-dash-", () => zenLeadScrapeConfig(metricsPort));
  await waitFor(
    "target up",
    async () => (await prom!.query(`up{job="zen-lead"}`))[0]?.value[1] === "1" || undefined,
    30_000,
  );
  await new Promise((r) => setTimeout(r, 2500));

  // A LoadBalancer Service on the engine, its pods probed over HTTP; then its leader fails its check.
  const ns = await env.cluster.newNamespace("dash");
  for (const name of ["web-0", "web-1"]) {
    const t = startHttpTarget(podAddress());
    targets.push(t);
    await env.kubelet.createPod(ns, {
      name,
      labels: { app: "web" },
      ip: t.ip,
      ports: [{ name: "http", containerPort: t.port }],
    });
    await new Promise((r) => setTimeout(r, 1001));
  }
  await createOptedIn(env.client, ns, "web", {
    type: "LoadBalancer",
    annotations: {
      "zen-lead.io/backend": "azure-servicegateway",
      "zen-lead.io/health-check": JSON.stringify({
        type: "http",
        port: "http",
        path: "/healthz",
        intervalSeconds: 0.5,
        failureThreshold: 2,
        timeoutSeconds: 0.3,
      }),
    },
  });
  await waitFor(
    "web-0 routed",
    async () => (await routedPods(env.client, ns, "web-leader"))?.join() === "web-0" || undefined,
  );
  targets[0].mode = "fail";
  await waitFor(
    "failover to web-1",
    async () => (await routedPods(env.client, ns, "web-leader"))?.join() === "web-1" || undefined,
    20_000,
  );
  // A second failover (and a second engine operation) once the first has been scraped: a histogram series
  // is born with its first observation, so only the next one makes its rate() non-zero.
  await new Promise((r) => setTimeout(r, 2500));
  targets[0].mode = "ok";
  targets[1].mode = "fail";
  await waitFor(
    "failover back to web-0",
    async () => (await routedPods(env.client, ns, "web-leader"))?.join() === "web-0" || undefined,
    20_000,
  );
  await createOptedIn(env.client, ns, "api", {
    type: "LoadBalancer",
    selector: { app: "web" },
    annotations: { "zen-lead.io/backend": "azure-servicegateway" },
  });

  // A Service whose leader Service an admission policy refuses: reconciles fail and are retried.
  const refused = await env.cluster.newNamespace("dash-refused");
  await env.kubelet.createPod(refused, { name: "a", labels: { app: "web" }, ports: HTTP_PORT });
  await env.client.create(Policies, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: "zl-dashboard-no-leaders" },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [{
          apiGroups: [""],
          apiVersions: ["v1"],
          operations: ["CREATE"],
          resources: ["services"],
        }],
      },
      validations: [{
        expression: "!object.metadata.name.endsWith('-leader')",
        message: "no leaders here (test)",
      }],
    },
  } as never);
  await env.client.create(PolicyBindings, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: "zl-dashboard-no-leaders" },
    spec: {
      policyName: "zl-dashboard-no-leaders",
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": refused } } },
    },
  } as never);
  // The API server applies a new policy after a moment: opt in only once it refuses.
  await waitFor("the policy refuses a -leader Service", async () => {
    const probe = optedInService(refused, "probe-leader");
    delete probe.metadata.annotations;
    try {
      await env.client.create<Service>(Services, probe);
      await env.client.delete(Services, refused, "probe-leader");
      return undefined;
    } catch (e) {
      return /no leaders here/.test(String((e as Error).message)) || undefined;
    }
  }, 30_000);
  await createOptedIn(env.client, refused, "web");
  // A Service on the throwing strategy: plugin errors.
  await createOptedIn(env.client, ns, "odd", {
    selector: { app: "web" },
    annotations: { "zen-lead.io/strategy": "broken" },
  });
  // A ConfigMap version the controller refuses (unknown key): a config reload error, the last good stays.
  const cm = await env.client.get<KubeObject & { data: Record<string, string> }>(
    ConfigMaps,
    CONTROLLER_NS,
    "zen-lead-config",
  );
  await env.client.replace(ConfigMaps, {
    ...cm,
    data: { "config.yaml": cm.data["config.yaml"] + "notAKey: 1\n" },
  });
  await waitFor("reconcile errors, plugin errors and a refused config counted", async () => {
    const text = await scrape(metricsPort);
    return /zen_lead_workqueue_retries_total\{/.test(text) && /zen_lead_plugin_errors_total\{/.test(text) &&
        /zen_lead_config_reload_errors_total\S* [1-9]/.test(text) || undefined;
  }, 20_000).catch(async (e) => {
    const text = await scrape(metricsPort);
    console.log(
      text.split("\n").filter((l) => /retries|plugin_errors|reload_errors|reconciliations_total/.test(l))
        .join("\n"),
    );
    throw e;
  });
});

e2eTest(
  "every dashboard query returns data from a real Prometheus (rules of alerts.yaml loaded)",
  async () => {
    const dashboard = JSON.parse(
      await Deno.readTextFile(`${ROOT}deploy/helm/zen-lead/files/dashboard.json`),
    ) as {
      panels: Panel[];
    };
    try {
      const exprs = dashboard.panels.flatMap((p) =>
        (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))
      );
      assert.ok(exprs.length >= 25, `${exprs.length} queries`);
      // rate() needs two scrapes of a series; a few seconds after the failover every query has them. A query
      // answering only NaN (a quantile of nothing) counts as no data.
      const missing = async () => {
        const out: string[] = [];
        for (const { panel, expr } of exprs) {
          const result = await prom!.query(expr);
          if (!result.some((s) => s.value[1] !== "NaN")) {
            out.push(`${panel}: ${expr} -> ${result.length ? "NaN" : "no series"}`);
          }
        }
        return out;
      };
      const empty = await waitFor("every query answers with data", async () => {
        const m = await missing();
        return m.length === 0 ? m : undefined;
      }, 30_000).catch(() => missing());
      console.log(`${exprs.length} dashboard queries, ${exprs.length - empty.length} with data`);
      assert.deepEqual(empty, [], `queries without data:\n${empty.join("\n")}`);
    } finally {
      await prom?.stop();
    }
  },
);

e2eTest("teardown", async () => {
  await prom?.stop();
  for (const t of targets) await t.close();
  await env?.stop();
  await arm?.close();
});
