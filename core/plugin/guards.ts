/**
 * Run-time wrappers through which the controller calls plugins. Each looks the plugin up at call time (so a
 * reload takes effect without the controller fetching it again), catches a throw or a malformed answer, reports
 * it (log + `zen_lead_plugin_errors_total{phase="run"}`) and answers with its kind's default instead.
 */
import { errorText } from "./errors.ts";
import { lastResortHealth, type LastResortRanking } from "./fallback.ts";
import type {
  BackendServiceState,
  BackendStatus,
  CloudBackend,
  HealthChecker,
  HealthResult,
  LeaderStrategy,
  MetricsExporter,
  PluginInstances,
  PluginKind,
  PodView,
  StrategyInput,
} from "./types.ts";
import type { GenericSchema } from "valibot";
import * as v from "valibot";

/** What the wrappers need from the kernel. */
export interface GuardHost {
  /** The running instance of `name` if it is of `kind` and its setup succeeded. */
  running<K extends PluginKind>(kind: K, name: string): PluginInstances[K] | undefined;
  fallback(kind: PluginKind): string | undefined;
  /** The ranking when the default strategy fails too. */
  lastResortRanking: LastResortRanking;
  reportError(name: string, kind: PluginKind, phase: "run", error: unknown): void;
  /** Registers a status listener that follows re-creations of backend `name`. */
  addStatusListener(name: string, listener: (key: string, status: BackendStatus) => void): void;
}

/** An exporter with the name of the plugin that provides it. */
export interface NamedExporter extends MetricsExporter {
  readonly name: string;
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((x) => typeof x === "string");
}

function isHealthResult(value: unknown): value is HealthResult {
  return typeof value === "object" && value !== null &&
    typeof (value as HealthResult).healthy === "boolean" &&
    typeof (value as HealthResult).reason === "string";
}

/** The default options of a strategy: its schema applied to `{}`, or `{}` when it has none or refuses that. */
function defaultOptions(schema: GenericSchema<unknown, unknown> | undefined): unknown {
  if (!schema) return {};
  const parsed = v.safeParse(schema, {});
  return parsed.success ? parsed.output : {};
}

export function guardedStrategy(host: GuardHost, name: string): LeaderStrategy {
  const fallbackRank = (input: StrategyInput): readonly string[] => {
    const fallbackName = host.fallback("strategy");
    const fallback = fallbackName && fallbackName !== name
      ? host.running("strategy", fallbackName)
      : undefined;
    if (!fallback) return host.lastResortRanking(input);
    try {
      // the failed strategy's per-Service options mean nothing to the default; it gets its own defaults.
      const ranked = fallback.rank({ ...input, options: defaultOptions(fallback.optionsSchema) });
      if (isStringArray(ranked)) return ranked;
      throw new Error(`rank returned ${typeof ranked}, expected an array of pod UIDs`);
    } catch (error) {
      host.reportError(fallbackName!, "strategy", "run", error);
      return host.lastResortRanking(input);
    }
  };
  return {
    get optionsSchema() {
      return host.running("strategy", name)?.optionsSchema;
    },
    get needsNodes() {
      const fallbackName = host.fallback("strategy");
      const own = host.running("strategy", name);
      return own ? own.needsNodes : fallbackName ? host.running("strategy", fallbackName)?.needsNodes : false;
    },
    rank(input) {
      const own = host.running("strategy", name);
      if (!own) return fallbackRank(input);
      try {
        const ranked = own.rank(input);
        if (isStringArray(ranked)) return ranked;
        throw new Error(
          `rank returned ${JSON.stringify(ranked) ?? typeof ranked}, expected an array of pod UIDs`,
        );
      } catch (error) {
        host.reportError(name, "strategy", "run", error);
        return fallbackRank(input);
      }
    },
  };
}

/**
 * A throw from `check` is a bug in the checker, not news about the pod: the default checker (`ready`, the
 * pod's Kubernetes readiness) answers instead, so a broken plugin cannot fail every leader over. A throw after
 * `signal` was aborted (the scheduler's timeout) is an unhealthy result, not a plugin error.
 */
export function guardedHealth(host: GuardHost, name: string): HealthChecker {
  const effective = () => {
    const own = host.running("health", name);
    if (own) return own;
    const fallbackName = host.fallback("health");
    return fallbackName ? host.running("health", fallbackName) : undefined;
  };
  const fallbackCheck = async (pod: PodView, signal: AbortSignal, failure: string): Promise<HealthResult> => {
    const fallbackName = host.fallback("health");
    const fallback = fallbackName && fallbackName !== name ? host.running("health", fallbackName) : undefined;
    if (!fallback) return lastResortHealth(failure);
    try {
      const result = await fallback.check(pod, undefined, signal);
      if (isHealthResult(result)) return result;
      throw new Error(
        `check returned ${JSON.stringify(result)}, expected { healthy: boolean, reason: string }`,
      );
    } catch (error) {
      host.reportError(fallbackName!, "health", "run", error);
      return lastResortHealth(failure);
    }
  };
  return {
    get specSchema() {
      return host.running("health", name)?.specSchema;
    },
    get passive() {
      // Only a checker that says so is passive (http and grpc leave it unset); none running at all means the
      // last-resort answer, which needs no probing.
      const checker = effective();
      return checker ? checker.passive === true : true;
    },
    get parseShort() {
      const own = host.running("health", name);
      // bound to the instance: a checker's parseShort may use `this`.
      return own?.parseShort ? (text: string) => own.parseShort!(text) : undefined;
    },
    warm() {
      host.running("health", name)?.warm?.();
    },
    release(pod, spec) {
      // Per-target resources (a gRPC channel) are the running instance's to close.
      return host.running("health", name)?.release?.(pod, spec);
    },
    async check(pod, spec, signal, deadline) {
      const own = host.running("health", name);
      if (!own) return fallbackCheck(pod, signal, `health checker "${name}" is not running`);
      try {
        const result = await own.check(pod, spec, signal, deadline);
        if (isHealthResult(result)) return result;
        throw new Error(
          `check returned ${JSON.stringify(result)}, expected { healthy: boolean, reason: string }`,
        );
      } catch (error) {
        if (signal.aborted) return { healthy: false, reason: `check aborted: ${errorText(signal.reason)}` };
        host.reportError(name, "health", "run", error);
        return fallbackCheck(pod, signal, `health checker "${name}" failed: ${errorText(error)}`);
      }
    },
  };
}

/**
 * Backends have no default: while `name` is not running, apply/remove do nothing. A throw is reported and
 * swallowed; backends are level-triggered, so the next change of the Service brings the whole state again.
 */
export function guardedBackend(host: GuardHost, name: string): CloudBackend {
  const call = async (what: string, op: (b: CloudBackend) => void | Promise<void>): Promise<void> => {
    const own = host.running("backend", name);
    if (!own) return;
    try {
      await op(own);
    } catch (error) {
      host.reportError(name, "backend", "run", new Error(`${what}: ${errorText(error)}`, { cause: error }));
    }
  };
  return {
    apply: (desired: BackendServiceState) => call(`apply ${desired.key}`, (b) => b.apply(desired)),
    remove: (key: string, uid: string) => call(`remove ${key}`, (b) => b.remove(key, uid)),
    onStatus: (listener) => host.addStatusListener(name, listener),
    resynced: () => void call("resynced", (b) => b.resynced?.()),
    podChanged: (pod, nodeIP) =>
      void call(`podChanged ${pod.namespace}/${pod.name}`, (b) => b.podChanged?.(pod, nodeIP)),
    podDeleted: (uid) => void call(`podDeleted ${uid}`, (b) => b.podDeleted?.(uid)),
    debug: () => host.running("backend", name)?.debug?.() ?? {},
  };
}

/** A failing render answers with the default exporter's text, or a comment line (valid exposition) at worst. */
export function guardedExporter(host: GuardHost, name: string, own: MetricsExporter): NamedExporter {
  const render = own.render;
  if (!render) return { name, path: own.path, contentType: own.contentType };
  return {
    name,
    path: own.path,
    contentType: own.contentType,
    async render() {
      try {
        const text = await render.call(own);
        if (typeof text === "string") return text;
        throw new Error(`render returned ${typeof text}, expected a string`);
      } catch (error) {
        host.reportError(name, "exporter", "run", error);
        const fallbackName = host.fallback("exporter");
        const fallback = fallbackName && fallbackName !== name
          ? host.running("exporter", fallbackName)
          : undefined;
        try {
          const text = await fallback?.render?.call(fallback);
          if (typeof text === "string") return text;
        } catch (fallbackError) {
          host.reportError(fallbackName!, "exporter", "run", fallbackError);
        }
        return `# exporter ${name} failed: ${errorText(error).replace(/\n/g, " ")}\n`;
      }
    },
  };
}
