/** The shape of `config.yaml` in the zen-lead ConfigMap (documented in README-config.md). */
import * as v from "valibot";
import { LOG_LEVELS } from "../log.ts";
import { PLUGIN_NAME } from "../plugin/shape.ts";
import { RANGES, rangeSchema } from "./ranges.ts";

const pluginName = v.pipe(v.string(), v.regex(PLUGIN_NAME));

/** `controller:` — the settings that can change without a restart; flags override them. Ranges: ranges.ts. */
export const controllerSection = v.strictObject({
  maxConcurrentReconciles: v.optional(rangeSchema(RANGES.maxConcurrentReconciles)),
  maxCacheSizePerNamespace: v.optional(rangeSchema(RANGES.maxCacheSizePerNamespace)),
  qps: v.optional(rangeSchema(RANGES.qps)),
  burst: v.optional(rangeSchema(RANGES.burst)),
  cacheUpdateTimeoutSeconds: v.optional(rangeSchema(RANGES.cacheUpdateTimeoutSeconds)),
  apiTimeoutSeconds: v.optional(rangeSchema(RANGES.apiTimeoutSeconds)),
  logLevel: v.optional(v.picklist(LOG_LEVELS)),
});

/** `defaults:` — what a Service gets when its annotations do not say. */
export const defaultsSection = v.strictObject({
  /** Strategy of Services without `zen-lead.io/strategy`. */
  strategy: v.optional(pluginName),
  /** Stickiness of Services without `zen-lead.io/sticky`. */
  sticky: v.optional(v.boolean()),
  /** Health check of Services without `zen-lead.io/health-check`: `name` or `name:short-form`. */
  healthCheck: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(:.*)?$/))),
  /** Per-strategy default options, validated by each strategy's optionsSchema. */
  strategyOptions: v.optional(v.record(pluginName, v.unknown())),
  /** The cloud backend for Services of type LoadBalancer; none when absent. */
  backend: v.optional(pluginName),
});

/** One `plugins:` entry: a built-in's options or switch, or a user's plugin loaded from `module`. */
export const pluginEntry = v.strictObject({
  name: pluginName,
  module: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** `sha256-<base64>` of the module's bytes: required for URLs, optional for files. */
  integrity: v.optional(v.string()),
  enabled: v.optional(v.boolean()),
  options: v.optional(v.unknown()),
});

/** `tracing:` — OpenTelemetry traces when no OTEL_* variable says otherwise (the environment wins). */
export const tracingSection = v.strictObject({
  /** Collector base URL, e.g. http://otel-collector.observability:4318 (/v1/traces is appended). */
  endpoint: v.optional(v.pipe(v.string(), v.url(), v.regex(/^https?:\/\//, "expected an http(s) URL"))),
  protocol: v.optional(v.picklist(["http/protobuf", "http/json"])),
  /** Share of ordinary reconciles traced (parent-based); failovers and errors are always kept. */
  sampleRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  serviceName: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  resourceAttributes: v.optional(v.record(v.string(), v.pipe(v.string(), v.maxLength(1000)))),
});

export const configSchema = v.strictObject({
  controller: v.optional(controllerSection),
  tracing: v.optional(tracingSection),
  defaults: v.optional(defaultsSection),
  plugins: v.optional(v.array(pluginEntry)),
});

export type ZenLeadConfig = v.InferOutput<typeof configSchema>;
export type ServiceDefaults = v.InferOutput<typeof defaultsSection>;
