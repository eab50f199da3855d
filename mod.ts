/**
 * zen-lead's public API for plugin authors: the plugin contract, the domain types plugins receive, and helpers
 * that give a plugin its exact instance type.
 *
 * @example A leader strategy in one file
 * ```ts
 * import { defineStrategy } from "./mod.ts";
 *
 * export default defineStrategy({
 *   name: "alphabetical",
 *   version: "1.0.0",
 *   setup: () => ({
 *     rank: ({ candidates }) => [...candidates].sort((a, b) => a.pod.name.localeCompare(b.pod.name)).map((c) => c.pod.uid),
 *   }),
 * });
 * ```
 * @module
 */
import type {
  CloudBackend,
  HealthChecker,
  LeaderStrategy,
  MetricsExporter,
  PluginDefinition,
} from "./core/plugin/types.ts";

export type * from "./core/plugin/types.ts";
export type { LogFields, Logger } from "./core/log.ts";
export type { Counter, Family, Gauge, Histogram, MetricsRegistry, Sample } from "./core/metrics/registry.ts";

// Helpers a plugin needs to behave like the built-in ones.
/** Timers whose delay is clamped into what the runtime can hold (a huge delay would fire at once). */
export { clampDelay, MAX_TIMER_MS, safeInterval, safeTimeout, timeoutSignal } from "./core/timers.ts";
/** Topology spread for strategies: a candidate's node and zone keys, and picks spread over unused domains. */
export { nodeKeyOf, spreadPicks, UsedDomains, zoneKeyOf } from "./core/leader/select_topology.ts";
/** HTTP client spans (children of the running reconcile's span) and the W3C headers to send with a request. */
export { endHttpSpan, startHttpSpan, traceHeaders } from "./core/tracing/spans.ts";
/** The process environment a plugin may read (the `start` task allows only these variables). */
export { ENV_VARS, readEnv } from "./core/config/env.ts";
/** OTLP/HTTP shared with the tracing exporter: the OTEL_* variables, their parsing, and one POST. */
export { OTEL_ENV_VARS, type OtlpProtocol, parseKeyValueList, resourceOf } from "./core/tracing/config.ts";
export { type OtlpTarget, postOtlp } from "./core/tracing/otlp_http.ts";
/** Time as plugins see it: the clock interface, the real clock and its timer handles. */
export { type Clock, realClock, type TimerHandle } from "./core/time/clock.ts";
/** An abortable sleep on an injectable clock. */
export { sleep } from "./core/time/sleep.ts";
/** Exponential backoff with jitter, the same formula the controller uses, shaped by its policy. */
export { backoffDelay, type BackoffPolicy, type Random } from "./core/time/backoff.ts";
/** A Retry-After header (seconds, or an HTTP date when `now` is given) as milliseconds to wait. */
export { parseRetryAfter } from "./core/time/retry_after.ts";

type Def<K extends PluginDefinition["kind"], O, I> = Omit<PluginDefinition<K, O, I>, "kind">;

/** A leader strategy plugin. */
export function defineStrategy<O = unknown>(
  def: Def<"strategy", O, LeaderStrategy>,
): PluginDefinition<"strategy", O, LeaderStrategy> {
  return { ...def, kind: "strategy" };
}

/** A health checker plugin. */
export function defineHealthChecker<O = unknown>(
  // deno-lint-ignore no-explicit-any
  def: Def<"health", O, HealthChecker<any>>,
  // deno-lint-ignore no-explicit-any
): PluginDefinition<"health", O, HealthChecker<any>> {
  return { ...def, kind: "health" };
}

/** A cloud backend plugin. */
export function defineBackend<O = unknown>(
  def: Def<"backend", O, CloudBackend>,
): PluginDefinition<"backend", O, CloudBackend> {
  return { ...def, kind: "backend" };
}

/** A metrics exporter plugin. */
export function defineExporter<O = unknown>(
  def: Def<"exporter", O, MetricsExporter>,
): PluginDefinition<"exporter", O, MetricsExporter> {
  return { ...def, kind: "exporter" };
}
