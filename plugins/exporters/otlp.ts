/**
 * `otlp`: pushes every metric of the registry (zen_lead_* and the engines') over OTLP/HTTP at an interval,
 * beside the Prometheus pull exporter. Idle unless an endpoint is set: `options.endpoint`, else
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/metrics).
 */
import * as v from "valibot";
import {
  defineExporter,
  OTEL_ENV_VARS,
  type OtlpProtocol,
  parseKeyValueList,
  postOtlp,
  readEnv,
  resourceOf,
  safeInterval,
} from "../../mod.ts";

const httpUrl = v.pipe(v.string(), v.url(), v.regex(/^https?:\/\//, "expected an http(s) URL"));

export const otlpExporter = defineExporter({
  name: "otlp",
  version: "1.0.0",
  description:
    "Pushes every zen_lead_* and engine metric over OTLP/HTTP to a collector (off without an endpoint).",
  options: v.optional(
    v.strictObject({
      /** Collector base URL (http://collector:4318); /v1/metrics is appended. Default: the OTEL_* variables. */
      endpoint: v.optional(httpUrl),
      protocol: v.optional(v.picklist(["http/protobuf", "http/json"])),
      /** Push interval; default OTEL_METRIC_EXPORT_INTERVAL or 60 s. */
      intervalSeconds: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(3600))),
      headers: v.optional(v.record(v.string(), v.string())),
    }),
    {},
  ),
  setup: async (ctx) => {
    const env = readEnv(OTEL_ENV_VARS);
    const o = ctx.options;
    const url = o.endpoint
      ? o.endpoint.replace(/\/+$/, "") + "/v1/metrics"
      : env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ||
        (env.OTEL_EXPORTER_OTLP_ENDPOINT
          ? env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "") + "/v1/metrics"
          : "");
    if (!url || (!o.endpoint && env.OTEL_METRICS_EXPORTER === "none")) {
      ctx.logger.debug("otlp metrics off: no endpoint configured");
      return {};
    }
    const protocol =
      (o.protocol ?? env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ??
        "http/protobuf") as OtlpProtocol;
    const envInterval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
    const intervalMs = o.intervalSeconds !== undefined
      ? o.intervalSeconds * 1000
      : Number.isFinite(envInterval) && envInterval >= 1000
      ? envInterval
      : 60_000;
    const target = {
      url,
      protocol,
      headers: {
        ...parseKeyValueList("OTEL_EXPORTER_OTLP_HEADERS", env.OTEL_EXPORTER_OTLP_HEADERS),
        ...o.headers,
      },
      timeoutMs: Math.min(10_000, intervalMs),
    };
    const resource = resourceOf(env);
    const started = Date.now();
    // Loaded only when pushing: without an endpoint the OTLP encoder costs nothing.
    const { JsonMetricsSerializer, ProtobufMetricsSerializer } = await import(
      "@opentelemetry/otlp-transformer"
    );
    const { toResourceMetrics } = await import("./otlp_bridge.ts");
    const serializer = protocol === "http/json" ? JsonMetricsSerializer : ProtobufMetricsSerializer;
    let running = false;
    let lastError = 0;
    const push = async (): Promise<void> => {
      if (running) return; // a slow collector: skip a beat rather than pile up pushes
      running = true;
      try {
        const body = serializer.serializeRequest(
          toResourceMetrics(ctx.metrics.collect(), resource, started, Date.now()),
        );
        if (body) await postOtlp(target, body);
      } catch (error) {
        if (Date.now() - lastError > 60_000) ctx.logger.warn("otlp metrics push failed", { url, error });
        lastError = Date.now();
      } finally {
        running = false;
      }
    };
    const timer = safeInterval(() => void push(), intervalMs);
    ctx.signal.addEventListener("abort", () => {
      clearInterval(timer);
      void push(); // the last values on the way out
    }, { once: true });
    ctx.logger.info("otlp metrics on", { url, protocol, intervalMs });
    return {};
  },
});

export default otlpExporter;
