/**
 * zen-lead's public API for plugin authors: the plugin contract, the domain types plugins receive, helpers that
 * give a plugin its exact instance type, and `setUpPlugin` to run a plugin in a unit test.
 *
 * A plugin module's default export (or any export) is a definition made by one of the `define*` helpers; the
 * controller loads it from the ConfigMap's `plugins:` list (`module: ./my-plugin.ts`) or from a compiled binary
 * that registers it.
 *
 * @example A leader strategy in one file
 * ```ts
 * import { defineStrategy } from "@zen-lead/zen-lead";
 *
 * export default defineStrategy({
 *   name: "alphabetical",
 *   version: "1.0.0",
 *   setup: () => ({
 *     rank: ({ candidates }) =>
 *       [...candidates].sort((a, b) => a.pod.name.localeCompare(b.pod.name)).map((c) => c.pod.uid),
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
  PluginDefinitionInput,
} from "./core/plugin/types.ts";

export type * from "./core/plugin/types.ts";
export type { LogFields, Logger } from "./core/log.ts";
export type {
  Counter,
  Family,
  Gauge,
  Histogram,
  HistogramOptions,
  Labels,
  Metric,
  MetricOptions,
  MetricsRegistry,
  MetricType,
  Sample,
} from "./core/metrics/registry.ts";
export { setUpPlugin, type StandaloneContext } from "./core/plugin/standalone.ts";
// Helpers a plugin needs to behave like the built-in ones.
/** Timers whose delay is clamped into what the runtime can hold (a huge delay would fire at once). */
export { clampDelay, MAX_TIMER_MS, safeInterval, safeTimeout, timeoutSignal } from "./core/timers.ts";
/** Topology spread for strategies: a candidate's node and zone keys, and picks spread over unused domains. */
export { nodeKeyOf, spreadPicks, UsedDomains, zoneKeyOf } from "./core/leader/select_topology.ts";
/** HTTP client spans (children of the running reconcile's span) and the W3C headers to send with a request. */
export { type HttpClientSpan, httpClientSpan } from "./core/tracing/spans.ts";
/** The process environment a plugin may read (the `start` task allows only these variables). */
export { ENV_VARS, readEnv } from "./core/config/env.ts";
/** OTLP/HTTP shared with the tracing exporter: the OTEL_* variables, their parsing, and one POST. */
export {
  OTEL_ENV_VARS,
  type OtlpProtocol,
  parseKeyValueList,
  resourceOf,
  type TracingSection,
} from "./core/tracing/config.ts";
export { type OtlpTarget, postOtlp } from "./core/tracing/otlp_http.ts";
/** Time as plugins see it: the clock interface, the real clock and its timer handles. */
export { type Clock, realClock, type TimerHandle } from "./core/time/clock.ts";
/** An abortable sleep on an injectable clock. */
export { sleep } from "./core/time/sleep.ts";
/** Exponential backoff with jitter, the same formula the controller uses, shaped by its policy. */
export { backoffDelay, type BackoffPolicy, type Random } from "./core/time/backoff.ts";
/** A Retry-After header (seconds, or an HTTP date when `now` is given) as milliseconds to wait. */
export { parseRetryAfter } from "./core/time/retry_after.ts";

/**
 * Defines a leader strategy plugin. Its options (from the ConfigMap) are typed by the `options` schema, and the
 * definition keeps the exact instance type `setup` returns.
 *
 * @example A strategy that prefers one pod name, set up and asked to rank two pods
 * ```ts
 * import assert from "node:assert/strict";
 * import * as v from "valibot";
 * import { type Candidate, defineStrategy, setUpPlugin } from "@zen-lead/zen-lead";
 *
 * const preferred = defineStrategy({
 *   name: "preferred",
 *   version: "1.0.0",
 *   options: v.object({ podName: v.string() }),
 *   // `options` is typed { podName: string } by the schema above.
 *   setup: ({ options }) => ({
 *     rank: ({ candidates }) =>
 *       [...candidates]
 *         .sort((a, b) => Number(b.pod.name === options.podName) - Number(a.pod.name === options.podName))
 *         .map((c) => c.pod.uid),
 *   }),
 * });
 *
 * const candidate = (name: string): Candidate => ({
 *   pod: {
 *     namespace: "default",
 *     name,
 *     uid: `uid-${name}`,
 *     ip: "10.0.0.1",
 *     labels: {},
 *     annotations: {},
 *     createdAt: 0,
 *     ports: [],
 *   },
 *   priority: 0,
 * });
 * const strategy = await setUpPlugin(preferred, { podName: "web-1" });
 * const ranked = strategy.rank({
 *   service: { namespace: "default", name: "web", uid: "uid-web", annotations: {} },
 *   candidates: [candidate("web-0"), candidate("web-1")],
 *   currentLeaders: [],
 *   count: 1,
 *   options: {},
 *   seed: "seed",
 *   now: Date.now(),
 * });
 * assert.deepEqual(ranked, ["uid-web-1", "uid-web-0"]);
 *
 * // Options the schema refuses are refused before setup, as the controller refuses them.
 * await assert.rejects(setUpPlugin(preferred, { podName: 1 }), /options\.podName/);
 * ```
 */
export function defineStrategy<O = unknown, I extends LeaderStrategy = LeaderStrategy>(
  def: PluginDefinitionInput<"strategy", O, I>,
): PluginDefinition<"strategy", O, I> {
  return { ...def, kind: "strategy" };
}

/**
 * Defines a health checker plugin. A checker probes one pod once; the controller schedules the checks, applies
 * thresholds and timeouts. Type the instance as `HealthChecker<Spec>` to get a typed per-Service spec.
 *
 * @example A checker that needs a pod IP of one family, set up and run against two pods
 * ```ts
 * import assert from "node:assert/strict";
 * import * as v from "valibot";
 * import { defineHealthChecker, type HealthChecker, type PodView, setUpPlugin } from "@zen-lead/zen-lead";
 *
 * const specSchema = v.object({ family: v.picklist(["ipv4", "ipv6"]) });
 * type Spec = v.InferOutput<typeof specSchema>;
 *
 * const ipFamily = defineHealthChecker({
 *   name: "ip-family",
 *   version: "1.0.0",
 *   setup: (ctx): HealthChecker<Spec> => {
 *     const checks = ctx.metrics.counter({ name: "zen_lead_ip_family_checks_total", help: "Checks run." });
 *     return {
 *       specSchema,
 *       parseShort: (text) => ({ family: text }),
 *       check: (pod, spec) => {
 *         checks.inc();
 *         const ok = spec.family === "ipv6" ? pod.ip.includes(":") : pod.ip.includes(".");
 *         return Promise.resolve({ healthy: ok, reason: ok ? "has an address" : `no ${spec.family} address` });
 *       },
 *     };
 *   },
 * });
 *
 * const pod = (ip: string): PodView => ({
 *   namespace: "default",
 *   name: "web-0",
 *   uid: "uid-web-0",
 *   ip,
 *   labels: {},
 *   annotations: {},
 *   createdAt: 0,
 *   ports: [],
 * });
 * const checker = await setUpPlugin(ipFamily);
 * const signal = new AbortController().signal;
 * assert.deepEqual(await checker.check(pod("10.0.0.7"), { family: "ipv4" }, signal), {
 *   healthy: true,
 *   reason: "has an address",
 * });
 * assert.equal((await checker.check(pod("10.0.0.7"), { family: "ipv6" }, signal)).healthy, false);
 * ```
 */
export function defineHealthChecker<O = unknown, I extends HealthChecker = HealthChecker>(
  def: PluginDefinitionInput<"health", O, I>,
): PluginDefinition<"health", O, I> {
  return { ...def, kind: "health" };
}

/**
 * Defines a cloud backend plugin: it receives each opted-in Service's desired state (level-triggered), and
 * reports the addresses it serves them on. `close` receives the exact instance `setup` returned.
 *
 * @example An in-memory backend that gives every Service one address
 * ```ts
 * import assert from "node:assert/strict";
 * import * as v from "valibot";
 * import { type BackendStatus, type CloudBackend, defineBackend, setUpPlugin } from "@zen-lead/zen-lead";
 *
 * class MemoryBackend implements CloudBackend {
 *   readonly applied = new Map<string, string[]>();
 *   private listener?: (key: string, status: BackendStatus) => void;
 *   closed = false;
 *   constructor(private readonly address: string) {}
 *   apply(desired: Parameters<CloudBackend["apply"]>[0]): void {
 *     this.applied.set(desired.key, desired.leaders.map((l) => l.podIP));
 *     this.listener?.(desired.key, { ingress: [{ ip: this.address }] });
 *   }
 *   remove(key: string): void {
 *     this.applied.delete(key);
 *   }
 *   onStatus(listener: (key: string, status: BackendStatus) => void): void {
 *     this.listener = listener;
 *   }
 * }
 *
 * const memory = defineBackend({
 *   name: "memory",
 *   version: "1.0.0",
 *   options: v.object({ address: v.optional(v.string(), "192.0.2.10") }),
 *   setup: ({ options }) => new MemoryBackend(options.address),
 *   // `backend` is a MemoryBackend here, no cast needed.
 *   close: (backend) => {
 *     backend.closed = true;
 *   },
 * });
 *
 * const backend = await setUpPlugin(memory);
 * const statuses: [string, BackendStatus][] = [];
 * backend.onStatus((key, status) => statuses.push([key, status]));
 * backend.apply({
 *   key: "default/web",
 *   uid: "uid-web",
 *   ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }],
 *   leaders: [{ podName: "web-0", podUID: "uid-web-0", podIP: "10.0.0.7" }],
 * });
 * assert.deepEqual(backend.applied.get("default/web"), ["10.0.0.7"]);
 * assert.deepEqual(statuses, [["default/web", { ingress: [{ ip: "192.0.2.10" }] }]]);
 * await memory.close?.(backend);
 * assert.equal(backend.closed, true);
 * ```
 */
export function defineBackend<O = unknown, I extends CloudBackend = CloudBackend>(
  def: PluginDefinitionInput<"backend", O, I>,
): PluginDefinition<"backend", O, I> {
  return { ...def, kind: "backend" };
}

/**
 * Defines a metrics exporter plugin: one that serves the registry at a path on the metrics address, or pushes it
 * elsewhere on a timer of its own (stopped on `ctx.signal`).
 *
 * @example An exporter that serves the number of metric families as plain text
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExporter, setUpPlugin } from "@zen-lead/zen-lead";
 *
 * const familyCount = defineExporter({
 *   name: "family-count",
 *   version: "1.0.0",
 *   setup: ({ metrics }) => ({
 *     path: "/metrics/families",
 *     contentType: "text/plain",
 *     render: () => `${metrics.collect().length}\n`,
 *   }),
 * });
 *
 * const exporter = await setUpPlugin(familyCount);
 * assert.equal(exporter.path, "/metrics/families");
 * assert.equal(await exporter.render?.(), "0\n");
 * ```
 */
export function defineExporter<O = unknown, I extends MetricsExporter = MetricsExporter>(
  def: PluginDefinitionInput<"exporter", O, I>,
): PluginDefinition<"exporter", O, I> {
  return { ...def, kind: "exporter" };
}
