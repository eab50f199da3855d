/**
 * Tracing without a collector: which OTEL_* / ConfigMap settings turn it on and with what, the sampler that keeps
 * failovers and errors at any ratio, the registry's OTLP bridge, and that with no SDK every helper is a no-op.
 * No global SDK is installed here (other test files share the process).
 */
import assert from "node:assert/strict";
import { ROOT_CONTEXT, type Span, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { JsonMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { tracingChoice, TracingConfigError } from "../../core/tracing/config.ts";
import {
  KEEP_ATTRIBUTE,
  KeepNotableProcessor,
  KeepNotableSampler,
  ratioKeeps,
} from "../../core/tracing/sampler.ts";
import { startHttpSpan, traceHeaders } from "../../core/tracing/spans.ts";
import { traceReconcile } from "../../core/tracing/reconcile.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { bucketCounts, toResourceMetrics } from "../../plugins/exporters/otlp_bridge.ts";

Deno.test("tracing is off without an endpoint, and off when OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none", () => {
  assert.equal(tracingChoice({}).enabled, false);
  assert.equal(tracingChoice({ OTEL_SERVICE_NAME: "x" }).enabled, false);
  const ep = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
  assert.equal(tracingChoice({ ...ep, OTEL_SDK_DISABLED: "true" }).enabled, false);
  assert.equal(tracingChoice({ ...ep, OTEL_TRACES_EXPORTER: "none" }).enabled, false);
});

Deno.test("OTEL_* variables: base endpoint gets /v1/traces, a signal endpoint is used as is, resource and sampler", () => {
  const c = tracingChoice({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
    OTEL_SERVICE_NAME: "zl",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,team=a%20b",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: "0.25",
    OTEL_EXPORTER_OTLP_HEADERS: "x-token=abc",
  });
  assert.ok(c.enabled);
  assert.equal(c.config.url, "http://collector:4318/v1/traces");
  assert.equal(c.config.protocol, "http/protobuf");
  assert.deepEqual(c.config.sampler, { kind: "ratio", ratio: 0.25, parentBased: true });
  assert.deepEqual(c.config.resource, {
    "deployment.environment": "prod",
    team: "a b",
    "service.name": "zl",
  });
  assert.deepEqual(c.config.headers, { "x-token": "abc" });
  const s = tracingChoice({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://c/custom/path",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  });
  assert.ok(s.enabled);
  assert.equal(s.config.url, "https://c/custom/path");
  assert.equal(s.config.protocol, "http/json");
  assert.equal(s.config.resource["service.name"], "zen-lead");
});

Deno.test("the ConfigMap's tracing section applies where the environment says nothing; the environment wins", () => {
  const section = {
    endpoint: "http://cm:4318",
    sampleRatio: 0.1,
    serviceName: "from-cm",
    protocol: "http/json" as const,
  };
  const cm = tracingChoice({}, section);
  assert.ok(cm.enabled);
  assert.equal(cm.config.url, "http://cm:4318/v1/traces");
  assert.deepEqual(cm.config.sampler, { kind: "ratio", ratio: 0.1, parentBased: true });
  assert.equal(cm.config.resource["service.name"], "from-cm");
  const env = tracingChoice(
    { OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4318", OTEL_SERVICE_NAME: "from-env" },
    section,
  );
  assert.ok(env.enabled);
  assert.equal(env.config.url, "http://env:4318/v1/traces");
  assert.equal(env.config.resource["service.name"], "from-env");
});

Deno.test("bad OTEL_* values are refused with the variable, the valid choices and what was received", () => {
  const ep = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
  assert.throws(
    () => tracingChoice({ ...ep, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
    (e: Error) =>
      e instanceof TracingConfigError &&
      /OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported; valid choices: http\/protobuf, http\/json/.test(
        e.message,
      ),
  );
  assert.throws(
    () =>
      tracingChoice({ ...ep, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }),
    /OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1, received "2"/,
  );
  assert.throws(
    () => tracingChoice({ ...ep, OTEL_TRACES_SAMPLER: "sometimes" }),
    /valid choices: always_on, .*received "sometimes"/,
  );
  assert.throws(
    () => tracingChoice({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }),
    /expected an http\(s\) URL/,
  );
  assert.throws(
    () => tracingChoice({ ...ep, OTEL_RESOURCE_ATTRIBUTES: "novalue" }),
    /OTEL_RESOURCE_ATTRIBUTES: expected key=value/,
  );
});

function provider(kind: "always_on" | "always_off" | "ratio", ratio: number) {
  const exporter = new InMemorySpanExporter();
  const p = new BasicTracerProvider({
    sampler: new KeepNotableSampler({ kind, ratio, parentBased: true }),
    spanProcessors: [new KeepNotableProcessor(new SimpleSpanProcessor(exporter))],
  });
  return { tracer: p.getTracer("t"), exporter };
}

/** A root with one child (parented explicitly: no context manager is installed in this process). */
function reconcileTrace(tracer: ReturnType<typeof provider>["tracer"], mark?: (root: Span) => void) {
  const root = tracer.startSpan("reconcile ns/web", { root: true });
  const child = tracer.startSpan("PUT", {}, trace.setSpan(ROOT_CONTEXT, root));
  child.end();
  mark?.(root);
  root.end();
}

Deno.test("ratio 0 drops ordinary reconciles but keeps every failover and every error, children included", () => {
  const { tracer, exporter } = provider("ratio", 0);
  reconcileTrace(tracer);
  assert.equal(exporter.getFinishedSpans().length, 0);
  reconcileTrace(tracer, (root) => root.setAttribute(KEEP_ATTRIBUTE, true));
  const kept = exporter.getFinishedSpans();
  assert.deepEqual(kept.map((s) => s.name).sort(), ["PUT", "reconcile ns/web"]);
  assert.ok(kept.every((s) => (s.spanContext().traceFlags & 1) === 1), "exported as sampled");
  assert.equal(kept[0].spanContext().traceId, kept[1].spanContext().traceId);
  exporter.reset();
  reconcileTrace(tracer, (root) => root.setStatus({ code: 2, message: "boom" }));
  assert.equal(exporter.getFinishedSpans().length, 2);
});

Deno.test("ratio 1 keeps everything; always_off records nothing, not even failovers", () => {
  const on = provider("ratio", 1);
  reconcileTrace(on.tracer);
  assert.equal(on.exporter.getFinishedSpans().length, 2);
  const off = provider("always_off", 0);
  reconcileTrace(off.tracer, (root) => root.setAttribute(KEEP_ATTRIBUTE, true));
  assert.equal(off.exporter.getFinishedSpans().length, 0);
});

Deno.test("the ratio decision is a function of the trace ID, near the ratio over many IDs", () => {
  let kept = 0;
  for (let i = 0; i < 10_000; i++) {
    const id = crypto.randomUUID().replaceAll("-", "");
    assert.equal(ratioKeeps(id, 0.3), ratioKeeps(id, 0.3));
    if (ratioKeeps(id, 0.3)) kept++;
  }
  assert.ok(kept > 2700 && kept < 3300, `${kept} of 10000 at 0.3`);
});

Deno.test("with no SDK installed (no OTEL_*), the helpers do nothing: no span, no header, fn runs as is", async () => {
  assert.equal(startHttpSpan("GET", () => new URL("https://api:6443/api")), undefined);
  assert.deepEqual(traceHeaders(undefined), {});
  const out = await traceReconcile(
    "ns/web",
    "abcd1234",
    { at: Date.now(), cause: "podChanged" },
    () => Promise.resolve(trace.getActiveSpan()?.isRecording() ?? false),
  );
  assert.equal(out, false);
});

Deno.test("OTLP bridge: per-bucket counts from cumulative ones, names, HELP, temporality and monotonic sums", () => {
  assert.deepEqual(bucketCounts([1, 3, 3], 5), [1, 2, 0, 2]);
  const reg = new MetricsRegistry();
  reg.counter({ name: "zen_lead_x_total", help: "X things.", labelNames: ["reason"] }).inc(
    { reason: "a" },
    2,
  );
  reg.gauge({ name: "zen_lead_g", help: "A gauge." }).set(undefined, 7);
  const h = reg.histogram({ name: "zen_lead_h_seconds", help: "H.", buckets: [0.1, 1] });
  h.observe(undefined, 0.05);
  h.observe(undefined, 0.5);
  h.observe(undefined, 5);
  const before = reg.render();
  const rm = toResourceMetrics(reg.collect(), { "service.name": "zl" }, 1000, 2000);
  assert.equal(reg.render(), before, "the Prometheus text is untouched by collecting");
  const json = JSON.parse(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(rm)!));
  const metrics = json.resourceMetrics[0].scopeMetrics[0].metrics as Record<string, unknown>[];
  const by = Object.fromEntries(metrics.map((m) => [m.name, m]));
  const sum = by.zen_lead_x_total as {
    description: string;
    sum: {
      isMonotonic: boolean;
      aggregationTemporality: number;
      dataPoints: { asDouble: number; attributes: unknown[] }[];
    };
  };
  assert.equal(sum.description, "X things.");
  assert.equal(sum.sum.isMonotonic, true);
  assert.equal(sum.sum.aggregationTemporality, 2);
  assert.equal(sum.sum.dataPoints[0].asDouble, 2);
  assert.deepEqual(sum.sum.dataPoints[0].attributes, [{ key: "reason", value: { stringValue: "a" } }]);
  assert.equal(
    (by.zen_lead_g as { gauge: { dataPoints: { asDouble: number }[] } }).gauge.dataPoints[0].asDouble,
    7,
  );
  const hist = by.zen_lead_h_seconds as {
    unit: string;
    histogram: {
      dataPoints: { bucketCounts: string[]; explicitBounds: number[]; count: string; sum: number }[];
    };
  };
  assert.equal(hist.unit, "s");
  assert.deepEqual(hist.histogram.dataPoints[0].explicitBounds, [0.1, 1]);
  assert.deepEqual(hist.histogram.dataPoints[0].bucketCounts.map(Number), [1, 1, 1]);
  assert.equal(Number(hist.histogram.dataPoints[0].count), 3);
  assert.equal(hist.histogram.dataPoints[0].sum, 5.55);
});
