/**
 * Traces and OTLP metrics against a real OpenTelemetry Collector (built by tests/harness/build-otelcol.sh): the
 * controller runs as `deno task start` does (its --allow-env list included) with the standard OTEL_* variables,
 * a failover happens, and the collector's file exporter must hold that failover as one trace from the pod event
 * to the acknowledged EndpointSlice write, plus zen_lead_* metrics. Without OTEL_* nothing reaches it.
 */
import assert from "node:assert/strict";
import { Services } from "../../core/kube/paths.ts";
import type { Service } from "../../core/kube/types.ts";
import { attr, type Collector, type OtlpSpan, startCollector } from "../harness/otelcol.ts";
import { type ArmEmulator, startArmEmulator } from "../emulators/arm/emulator.ts";
import { ConfigMaps } from "../../core/kube/paths.ts";
import { startZenLeadProcess, type ZenLeadProcess } from "../harness/zen_lead_process.ts";
import { CONTROLLER_NS, type E2E, e2eTest, ROOT, startE2E } from "./_env.ts";
import { routedPods, waitFor } from "./_reads.ts";
import { createOptedIn, HTTP_PORT } from "./_fixtures.ts";
import { azureBackendConfigMap } from "./_azure.ts";

let env: E2E;
let collector: Collector;
let arm: ArmEmulator;
let zl: ZenLeadProcess | undefined;
let ns = "";
let first = "";
let second = "";

const ARGS = [
  "--metrics-bind-address=127.0.0.1:0",
  "--health-probe-bind-address=127.0.0.1:0",
  "--leader-elect=false",
];

function controller(extraEnv: Record<string, string>): Promise<ZenLeadProcess> {
  return Deno.readTextFile(env.saKubeconfig).then((kubeconfig) =>
    startZenLeadProcess({ kubeconfig, args: ARGS, env: { POD_NAMESPACE: CONTROLLER_NS, ...extraEnv } })
  );
}

const ns2ms = (n: string) => Number(BigInt(n) / 1_000_000n);

e2eTest("setup: control plane and a real OpenTelemetry Collector on loopback", async () => {
  env = await startE2E();
  collector = await startCollector();
  arm = startArmEmulator();
});

e2eTest(
  "without OTEL_* nothing is exported: the controller reconciles and the collector receives nothing",
  async () => {
    const quiet = await controller({});
    try {
      await quiet.waitForLine(/caches synced/);
      const q = await env.cluster.newNamespace("otel-off");
      await env.kubelet.createPod(q, { name: "a", labels: { app: "web" }, ports: HTTP_PORT });
      await createOptedIn(env.client, q, "web");
      await waitFor("leader", async () => (await routedPods(env.client, q, "web-leader"))?.[0]);
      // Longer than the span batch delay (1 s) and a metrics interval.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(quiet.lines.some((l) => /tracing on|otlp metrics on/.test(l)), false);
      assert.equal(quiet.lines.some((l) => /"trace_id"/.test(l)), false);
    } finally {
      await quiet.stop();
    }
    assert.deepEqual(await collector.spans(), []);
    assert.deepEqual(await collector.metrics(), []);
  },
);

e2eTest(
  "a failover with OTEL_* set: one trace from the pod event to the acknowledged slice write",
  async () => {
    // The Azure engine against the ARM emulator: its operations and ARM requests join the traces.
    await env.client.create(ConfigMaps, azureBackendConfigMap(arm.url));
    zl = await controller({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_SERVICE_NAME: "zen-lead-e2e",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=e2e",
      // Ratio 0: every ordinary reconcile is dropped, so what arrives is there because failovers are always kept.
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0",
      OTEL_METRIC_EXPORT_INTERVAL: "1000",
    });
    await zl.waitForLine(/caches synced/);
    assert.ok(zl.lines.some((l) => /"msg":"tracing on"/.test(l)), zl.lines.join("\n"));
    ns = await env.cluster.newNamespace("otel");
    await env.kubelet.createPod(ns, { name: "a", labels: { app: "web" }, ports: HTTP_PORT });
    await env.kubelet.createPod(ns, { name: "b", labels: { app: "web" }, ports: HTTP_PORT });
    await createOptedIn(env.client, ns, "web", {
      type: "LoadBalancer",
      annotations: { "zen-lead.io/backend": "azure-servicegateway" },
    });
    await waitFor("the engine gave the Service its frontend", async () => {
      const s = await env.client.get<Service>(Services, ns, "web");
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    }, 30_000);
    first = await waitFor("leader", async () => (await routedPods(env.client, ns, "web-leader"))?.[0]);
    const beforeFailover = Date.now();
    await env.kubelet.setPodReady(ns, first, false);
    second = await waitFor(
      "failover",
      async () => {
        const now = (await routedPods(env.client, ns, "web-leader"))?.[0];
        return now && now !== first ? now : undefined;
      },
    );

    const root = await waitFor("the failover trace in the collector's file", async () => {
      const spans = await collector.spans();
      return spans.find((s) =>
        s.name === `reconcile ${ns}/web` && attr(s.attributes, "zen_lead.failover") === true
      );
    }, 20_000);
    // Everything of the trace has arrived once the batch that holds the root is written.
    const spans = (await collector.spans()).filter((s) => s.traceId === root.traceId);
    const byName = (n: string) => spans.filter((s) => s.name === n);

    assert.equal(root.parentSpanId ?? "", "");
    assert.equal(root.resource["service.name"], "zen-lead-e2e");
    assert.equal(root.resource["deployment.environment"], "e2e");
    assert.equal(attr(root.attributes, "k8s.namespace.name"), ns);
    assert.equal(attr(root.attributes, "k8s.service.name"), "web");
    assert.equal(attr(root.attributes, "zen_lead.trigger.kind"), "podChanged");
    assert.match(String(attr(root.attributes, "zen_lead.reconcile_id")), /^[0-9a-f]{8}$/);
    assert.equal(attr(root.attributes, "zen_lead.failover.reason"), "notReady");
    // The root starts at the watch event (its observed time), after the test changed the pod.
    const observed = Date.parse(String(attr(root.attributes, "zen_lead.trigger.observed_time")));
    assert.ok(
      Math.abs(ns2ms(root.startTimeUnixNano) - observed) <= 1,
      `${root.startTimeUnixNano} vs ${observed}`,
    );
    assert.ok(observed >= beforeFailover - 50, `${observed} < ${beforeFailover}`);

    const decide = byName("decide");
    assert.equal(decide.length, 1, JSON.stringify(spans.map((s) => s.name)));
    assert.equal(decide[0].parentSpanId, root.spanId);
    assert.equal(attr(decide[0].attributes, "zen_lead.leader"), second);
    assert.equal(attr(decide[0].attributes, "zen_lead.decision.reason"), "notReady");
    assert.equal(attr(decide[0].attributes, "zen_lead.failover"), true);
    assert.equal(attr(decide[0].attributes, "zen_lead.strategy"), "oldest");
    assert.equal(attr(decide[0].attributes, "zen_lead.candidates"), 2);

    // The acknowledged slice write: an HTTP client span (semantic conventions) under the reconcile, 200.
    const write = spans.find((s) =>
      /endpointslices/.test(String(attr(s.attributes, "zen_lead.operation"))) &&
      ["PUT", "PATCH", "POST"].includes(String(attr(s.attributes, "http.request.method")))
    ) as OtlpSpan | undefined;
    assert.ok(
      write,
      `no slice write span among ${
        JSON.stringify(spans.map((s) => [s.name, attr(s.attributes, "zen_lead.operation")]))
      }`,
    );
    assert.equal(write.parentSpanId, root.spanId);
    assert.equal(write.kind, 3); // SPAN_KIND_CLIENT
    assert.equal(write.name, attr(write.attributes, "http.request.method"));
    assert.equal(attr(write.attributes, "http.response.status_code"), 200);
    assert.equal(attr(write.attributes, "server.address"), "127.0.0.1");
    assert.match(
      String(attr(write.attributes, "url.full")),
      new RegExp(`/namespaces/${ns}/endpointslices/web-leader`),
    );
    assert.ok(ns2ms(write.endTimeUnixNano) <= ns2ms(root.endTimeUnixNano));
    assert.ok(ns2ms(write.startTimeUnixNano) >= ns2ms(root.startTimeUnixNano));

    // Ordinary reconciles (the leader's creation) were dropped by ratio 0: every kept root is notable.
    const roots = (await collector.spans()).filter((s) => !s.parentSpanId);
    for (const r of roots) {
      assert.ok(
        attr(r.attributes, "zen_lead.failover") === true || r.status?.code === 2,
        `kept a trace that is neither a failover nor an error: ${r.name}`,
      );
    }

    // The engine's work for this failover and each ARM request it made, W3C trace context sent to ARM.
    const armSpans = await waitFor("the failover's ARM requests in its trace", async () => {
      const all = (await collector.spans()).filter((s) => s.traceId === root.traceId);
      const found = all.filter((s) => attr(s.attributes, "cloud.provider") === "azure");
      return found.length ? { all, found } : undefined;
    }, 20_000);
    const ids = new Map(armSpans.all.map((s) => [s.spanId, s]));
    for (const s of armSpans.found) {
      assert.equal(s.kind, 3);
      assert.match(String(attr(s.attributes, "url.full")), /api-version=/);
      assert.ok(attr(s.attributes, "http.response.status_code"));
      const parent = ids.get(s.parentSpanId ?? "");
      assert.match(parent?.name ?? "", /^servicegateway\./, `ARM span ${s.name} under ${parent?.name}`);
      // Flags 00 here: at ratio 0 the trace is held, and kept only when the failover is known (after the send).
      const sent = arm.requests.find((r) => r.traceparent?.startsWith(`00-${root.traceId}-${s.spanId}-0`));
      assert.ok(sent, `ARM received no request with the traceparent of span ${s.spanId}`);
    }
    spans.splice(0, spans.length, ...armSpans.all);

    if (Deno.env.get("WRITE_TRACE_EXAMPLE")) {
      // The README's example: this very trace as the collector's file exporter wrote it.
      await Deno.writeTextFile(`${ROOT}docs/failover-trace.json`, JSON.stringify(spans, null, 2) + "\n");
    }

    // The controller's own log line of this failover names the trace.
    const line = zl.lines.find((l) => /"msg":"failover"/.test(l) && l.includes(`"namespace":"${ns}"`)) ??
      zl.lines.find((l) => /"msg":"failover"/.test(l));
    assert.ok(line, zl.lines.slice(-20).join("\n"));
    const rec = JSON.parse(line);
    assert.equal(rec.trace_id, root.traceId);
    assert.match(rec.span_id, /^[0-9a-f]{16}$/);
  },
);

e2eTest(
  "OTLP metrics: every zen_lead_* family is pushed, the failover latency histogram with its failover",
  async () => {
    const latency = await waitFor("zen_lead_failover_latency_seconds in the collector's file", async () => {
      const ms = await collector.metrics();
      const h = ms.filter((m) => m.name === "zen_lead_failover_latency_seconds").at(-1);
      const points = (h?.data.histogram as { dataPoints?: { count?: string }[] } | undefined)?.dataPoints ??
        [];
      return points.some((p) => Number(p.count) >= 1) ? h : undefined;
    }, 20_000);
    const hist = latency.data.histogram as {
      aggregationTemporality: number;
      dataPoints: { explicitBounds: number[] }[];
    };
    assert.equal(hist.aggregationTemporality, 2); // cumulative, as the Prometheus histogram
    assert.deepEqual(hist.dataPoints[0].explicitBounds.slice(0, 3), [0.001, 0.0025, 0.005]);
    // The HELP text travels as the description.
    assert.match(String(latency.data.description), /\w+/);
    const names = new Set((await collector.metrics()).map((m) => m.name));
    for (
      const n of [
        "zen_lead_failover_count_total",
        "zen_lead_reconciliations_total",
        "zen_lead_api_call_duration_seconds",
      ]
    ) {
      assert.ok(names.has(n), `${n} not pushed; pushed: ${[...names].join(", ")}`);
    }
    const counter = (await collector.metrics()).filter((m) => m.name === "zen_lead_failover_count_total").at(
      -1,
    )!;
    assert.equal((counter.data.sum as { isMonotonic: boolean }).isMonotonic, true);
  },
);

e2eTest("teardown", async () => {
  await zl?.stop();
  await collector?.stop();
  await env?.stop();
  await arm?.close();
});
