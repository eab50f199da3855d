/**
 * Applies the zen-lead ConfigMap: parse, validate, load plugin modules, reconfigure the kernel, resolve settings.
 * It does not know how the ConfigMap is watched; whoever watches it calls `apply` with each version (or
 * undefined when there is none). A refused version changes nothing: the last good configuration stays in force.
 */
import type { ConfigMap } from "../kube/types.ts";
import type { Logger } from "../log.ts";
import type { Counter, MetricsRegistry } from "../metrics/registry.ts";
import { canonicalJson } from "../plugin/canonical.ts";
import { errorText, PluginConfigError } from "../plugin/errors.ts";
import type { KernelChange, PluginKernel, PluginSpec } from "../plugin/kernel.ts";
import { loadPlugin } from "../plugin/loader.ts";
import type { PluginDefinition } from "../plugin/types.ts";
import { serviceDefaultsProblems } from "./checks.ts";
import { CONFIG_KEY, parseConfigText } from "./parse.ts";
import type { ZenLeadConfig } from "./schema.ts";
import { type ControllerSettings, resolveSettings } from "./settings.ts";

/** The Event reason of a refused configuration, on the ConfigMap. */
export const INVALID_CONFIGURATION = "InvalidConfiguration";

/** A configuration in force. */
export interface AppliedConfig {
  readonly config: ZenLeadConfig;
  readonly settings: ControllerSettings;
  /** resourceVersion of the ConfigMap it came from; undefined for "no ConfigMap". */
  readonly resourceVersion?: string;
}

export type ApplyResult =
  | { ok: true; applied: AppliedConfig; changes: KernelChange["changes"]; unchanged: boolean }
  | { ok: false; reason: string; problems: readonly string[] };

export type PluginLoader = (name: string, specifier: string, baseDir: string) => Promise<PluginDefinition>;

export interface ReloaderOptions {
  readonly kernel: PluginKernel;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Records an Event of type Warning on the ConfigMap. */
  readonly recordEvent: (reason: string, message: string) => void | Promise<void>;
  /** Settings the user passed as flags or env vars; they win over the ConfigMap. */
  readonly flags: Partial<ControllerSettings>;
  readonly defaults: ControllerSettings;
  /** Base of relative `module:` paths (default: the working directory). */
  readonly baseDir?: string;
  /** Replaces the module loader (tests). */
  readonly load?: PluginLoader;
}

export class ConfigReloader {
  private readonly log: Logger;
  private readonly reloadErrors: Counter;
  private readonly reloads: Counter;
  private readonly listeners = new Set<(applied: AppliedConfig) => void>();
  private last: AppliedConfig | undefined;
  private lastText: string | undefined;
  // apply() calls run one after another, in the order the watcher saw the versions.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ReloaderOptions) {
    this.log = options.logger.child({ component: "config" });
    this.reloadErrors = options.metrics.counter({
      name: "zen_lead_config_reload_errors_total",
      help: "ConfigMap versions refused as invalid; the last good configuration stayed in force.",
    });
    this.reloads = options.metrics.counter({
      name: "zen_lead_config_reloads_total",
      help: "ConfigMap versions applied.",
    });
  }

  /** The configuration in force; undefined before the first successful apply. */
  get current(): AppliedConfig | undefined {
    return this.last;
  }

  /** Called after each apply that put a new configuration in force. Returns an unsubscribe function. */
  onChange(listener: (applied: AppliedConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates and applies one version of the ConfigMap (undefined: there is none, so defaults apply). */
  apply(configMap: ConfigMap | undefined): Promise<ApplyResult> {
    const run = this.queue.then(() => this.applyNow(configMap));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(configMap: ConfigMap | undefined): Promise<ApplyResult> {
    const where = configMap
      ? `ConfigMap ${configMap.metadata.namespace ?? ""}/${configMap.metadata.name ?? ""}`
      : "no ConfigMap";
    const text = configText(configMap);
    if (!text.ok) return this.refuse(where, configMap, text.problems);
    // informers resync unchanged objects; an identical text needs no work.
    if (this.last && this.lastText === text.value) {
      return { ok: true, applied: this.last, changes: [], unchanged: true };
    }
    const parsed = parseConfigText(text.value);
    if (!parsed.ok) return this.refuse(where, configMap, parsed.problems);
    const config = parsed.config;

    let specs: PluginSpec[];
    try {
      specs = await this.pluginSpecs(config);
    } catch (error) {
      return this.refuse(where, configMap, [errorText(error)]);
    }

    let change: KernelChange;
    try {
      change = await this.options.kernel.configure(
        specs,
        (staged) => serviceDefaultsProblems(config.defaults, staged),
      );
    } catch (error) {
      const problems = error instanceof PluginConfigError ? error.problems : [errorText(error)];
      return this.refuse(where, configMap, problems);
    }

    const applied: AppliedConfig = {
      config,
      settings: resolveSettings(this.options.flags, config.controller ?? {}, this.options.defaults),
      resourceVersion: configMap?.metadata.resourceVersion,
    };
    this.last = applied;
    this.lastText = text.value;
    this.reloads.inc();
    this.log.info("configuration applied", {
      source: where,
      resourceVersion: applied.resourceVersion,
      plugins: change.changes.map((c) => `${c.action} ${c.kind} ${c.name}`),
    });
    for (const listener of this.listeners) {
      try {
        listener(applied);
      } catch (error) {
        this.log.error("configuration listener threw", { error });
      }
    }
    return { ok: true, applied, changes: change.changes, unchanged: false };
  }

  /** Plugin entries with their modules loaded; a module that fails to load refuses the whole version. */
  private async pluginSpecs(config: ZenLeadConfig): Promise<PluginSpec[]> {
    const load = this.options.load ?? loadPlugin;
    const baseDir = this.options.baseDir ?? Deno.cwd();
    const specs: PluginSpec[] = [];
    for (const [i, entry] of (config.plugins ?? []).entries()) {
      let definition: PluginDefinition | undefined;
      if (entry.module !== undefined) {
        try {
          definition = await load(entry.name, entry.module, baseDir);
        } catch (error) {
          throw new Error(`${CONFIG_KEY}: plugins[${i}] (${entry.name}): ${errorText(error)}`);
        }
      }
      specs.push({
        name: entry.name,
        definition,
        source: entry.module,
        enabled: entry.enabled,
        options: entry.options,
      });
    }
    return specs;
  }

  private async refuse(where: string, configMap: ConfigMap | undefined, problems: readonly string[]) {
    const reason = problems.join("; ");
    const kept = this.last ? `resourceVersion ${this.last.resourceVersion ?? "(defaults)"}` : "none yet";
    this.reloadErrors.inc();
    this.log.warn("configuration refused; the last good one stays in force", {
      source: where,
      resourceVersion: configMap?.metadata.resourceVersion,
      kept,
      reason,
    });
    if (configMap) {
      try {
        await this.options.recordEvent(
          INVALID_CONFIGURATION,
          `${CONFIG_KEY} refused, the previous configuration stays in force: ${reason}`,
        );
      } catch (error) {
        this.log.error("recording the InvalidConfiguration event failed", { error });
      }
    }
    return { ok: false as const, reason, problems };
  }
}

/** The `config.yaml` text of a ConfigMap: empty for none or an empty one; an error when only other keys exist. */
function configText(
  configMap: ConfigMap | undefined,
): { ok: true; value: string } | { ok: false; problems: string[] } {
  const data = configMap?.data ?? {};
  const text = data[CONFIG_KEY];
  if (text !== undefined) return { ok: true, value: text };
  const keys = Object.keys(data);
  if (keys.length === 0) return { ok: true, value: "" };
  return {
    ok: false,
    problems: [`data: expected the key ${CONFIG_KEY}, received keys [${keys.sort().join(", ")}]`],
  };
}

/** Canonical JSON of a configuration, for logs and comparisons. */
export function describeConfig(config: ZenLeadConfig): string {
  return canonicalJson(config);
}
