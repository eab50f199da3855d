/**
 * What tracing does, from the standard OTEL_* environment variables and the ConfigMap's `tracing:` section (the
 * environment wins field by field). Pure: no SDK is touched here. Nothing configured means tracing stays off.
 */

/** The OTLP/HTTP body encodings. */
export type OtlpProtocol = "http/protobuf" | "http/json";
/** The OTEL_* environment variables zen-lead reads (the `start` task allows exactly these). */
export const OTEL_ENV_VARS = [
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_EXPORTER",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TIMEOUT",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
  "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
  "OTEL_METRIC_EXPORT_INTERVAL",
  "OTEL_METRICS_EXPORTER",
] as const;

/** The ConfigMap's `tracing:` section (schema.ts). */
export interface TracingSection {
  /** Collector base URL; /v1/traces is appended. */
  endpoint?: string;
  /** The body encoding. */
  protocol?: OtlpProtocol;
  /** Share of traces kept (parent-based); failovers and failed reconciles are always kept. */
  sampleRatio?: number;
  /** service.name of the resource (OTEL_SERVICE_NAME wins). */
  serviceName?: string;
  /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES wins per key). */
  resourceAttributes?: Record<string, string>;
}

export interface TracingConfig {
  /** Full URL of the traces endpoint (…/v1/traces). */
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Sampler: "always_on", "always_off" or a ratio in [0, 1]; parentBased = honour a remote parent's choice. */
  sampler: { kind: "always_on" | "always_off" | "ratio"; ratio: number; parentBased: boolean };
  resource: Record<string, string>;
}

export type TracingChoice =
  | { enabled: false; why: string }
  | { enabled: true; config: TracingConfig };

export class TracingConfigError extends Error {}

const PROTOCOLS: readonly string[] = ["http/protobuf", "http/json"];
const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
];

/** `key1=value1,key2=value2` (W3C baggage-like, values percent-decoded) as OTEL_RESOURCE_ATTRIBUTES is. */
export function parseKeyValueList(name: string, raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw?.trim()) return out;
  for (const part of raw.split(",")) {
    const at = part.indexOf("=");
    if (at <= 0) {
      throw new TracingConfigError(
        `${name}: expected key=value pairs separated by commas, received ${JSON.stringify(part.trim())}`,
      );
    }
    let value = part.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch { /* kept as written */ }
    out[part.slice(0, at).trim()] = value;
  }
  return out;
}

function protocolOf(name: string, raw: string | undefined): OtlpProtocol | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (raw === "grpc") {
    // gRPC would bring HTTP/2 channels into the controller process (Deno's node:http2 can crash on close).
    throw new TracingConfigError(`${name}: "grpc" is not supported; valid choices: http/protobuf, http/json`);
  }
  if (!PROTOCOLS.includes(raw)) {
    throw new TracingConfigError(
      `${name}: valid choices: ${PROTOCOLS.join(", ")}; received ${JSON.stringify(raw)}`,
    );
  }
  return raw as OtlpProtocol;
}

function endpointUrl(name: string, raw: string, signalPath: string | undefined): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TracingConfigError(
      `${name}: expected an http(s) URL such as http://otel-collector:4318, received ${JSON.stringify(raw)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TracingConfigError(`${name}: expected an http(s) URL, received ${JSON.stringify(raw)}`);
  }
  // The generic endpoint is a base to which the signal's path is appended; a signal endpoint is used as is.
  if (signalPath === undefined) return url.href;
  return url.href.replace(/\/+$/, "") + signalPath;
}

function ratioOf(raw: string | number | undefined, name: string): number {
  if (raw === undefined || raw === "") return 1;
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new TracingConfigError(
      `${name}: expected a number from 0 to 1, received ${JSON.stringify(String(raw))}`,
    );
  }
  return n;
}

/** The resource every span (and pushed metric) carries. */
export function resourceOf(
  env: Record<string, string | undefined>,
  section?: TracingSection,
): Record<string, string> {
  const attrs = {
    ...section?.resourceAttributes,
    ...parseKeyValueList("OTEL_RESOURCE_ATTRIBUTES", env.OTEL_RESOURCE_ATTRIBUTES),
  };
  attrs["service.name"] = env.OTEL_SERVICE_NAME || section?.serviceName || attrs["service.name"] ||
    "zen-lead";
  return attrs;
}

/** Decides whether and how to trace; throws TracingConfigError naming the variable or key that is wrong. */
export function tracingChoice(
  env: Record<string, string | undefined>,
  section?: TracingSection,
): TracingChoice {
  if (env.OTEL_SDK_DISABLED === "true") return { enabled: false, why: "OTEL_SDK_DISABLED=true" };
  if (env.OTEL_TRACES_EXPORTER === "none") return { enabled: false, why: "OTEL_TRACES_EXPORTER=none" };
  if (env.OTEL_TRACES_EXPORTER && env.OTEL_TRACES_EXPORTER !== "otlp") {
    throw new TracingConfigError(
      `OTEL_TRACES_EXPORTER: valid choices: otlp, none; received ${JSON.stringify(env.OTEL_TRACES_EXPORTER)}`,
    );
  }
  let url: string;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    url = endpointUrl(
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
      undefined,
    );
  } else if (env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    url = endpointUrl("OTEL_EXPORTER_OTLP_ENDPOINT", env.OTEL_EXPORTER_OTLP_ENDPOINT, "/v1/traces");
  } else if (section?.endpoint) {
    url = endpointUrl("tracing.endpoint", section.endpoint, "/v1/traces");
  } else {
    return {
      enabled: false,
      why: "no OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or tracing.endpoint) is set",
    };
  }
  const protocol = protocolOf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ??
    protocolOf("OTEL_EXPORTER_OTLP_PROTOCOL", env.OTEL_EXPORTER_OTLP_PROTOCOL) ??
    section?.protocol ?? "http/protobuf";

  const samplerName = env.OTEL_TRACES_SAMPLER ||
    (section?.sampleRatio !== undefined ? "parentbased_traceidratio" : "parentbased_always_on");
  if (!SAMPLERS.includes(samplerName)) {
    throw new TracingConfigError(
      `OTEL_TRACES_SAMPLER: valid choices: ${SAMPLERS.join(", ")}; received ${JSON.stringify(samplerName)}`,
    );
  }
  const parentBased = samplerName.startsWith("parentbased_");
  const base = samplerName.replace(/^parentbased_/, "");
  const ratio = base === "traceidratio"
    ? (env.OTEL_TRACES_SAMPLER_ARG !== undefined && env.OTEL_TRACES_SAMPLER_ARG !== ""
      ? ratioOf(env.OTEL_TRACES_SAMPLER_ARG, "OTEL_TRACES_SAMPLER_ARG")
      : ratioOf(section?.sampleRatio, "tracing.sampleRatio"))
    : base === "always_on"
    ? 1
    : 0;
  const timeout = env.OTEL_EXPORTER_OTLP_TIMEOUT ? Number(env.OTEL_EXPORTER_OTLP_TIMEOUT) : 10_000;
  if (!Number.isFinite(timeout) || timeout < 1 || timeout > 600_000) {
    throw new TracingConfigError(
      `OTEL_EXPORTER_OTLP_TIMEOUT: expected milliseconds from 1 to 600000, received ${
        JSON.stringify(env.OTEL_EXPORTER_OTLP_TIMEOUT)
      }`,
    );
  }
  return {
    enabled: true,
    config: {
      url,
      protocol,
      headers: parseKeyValueList("OTEL_EXPORTER_OTLP_HEADERS", env.OTEL_EXPORTER_OTLP_HEADERS),
      timeoutMs: timeout,
      sampler: {
        kind: base === "traceidratio" ? "ratio" : base as "always_on" | "always_off",
        ratio,
        parentBased,
      },
      resource: resourceOf(env, section),
    },
  };
}
