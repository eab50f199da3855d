/**
 * Applies the zen-lead ConfigMap: parse, validate, load plugin modules, reconfigure the kernel, resolve settings.
 * It does not know how the ConfigMap is watched; whoever watches it calls `apply` with each version (or
 * undefined when there is none). A refused version changes nothing: the last good configuration stays in force.
 */
import type { ConfigMap } from "../kube/types.ts";
import type { Logger } from "../log.ts";
import type { Counter, MetricsRegistry } from "../metrics/registry.ts";
import { errorText, PluginConfigError } from "../plugin/errors.ts";
import type { KernelChange, PluginKernel, PluginSpec } from "../plugin/kernel.ts";
import { type ApprovedModule, loadPlugin } from "../plugin/loader.ts";
import { type AllowPrefix, decideModule } from "../plugin/module_policy.ts";
import type { PluginDefinition } from "../plugin/types.ts";
import { defaultsNameProblems, serviceDefaultsProblems } from "./checks.ts";
import { CONFIG_KEY, parseConfigText } from "./parse.ts";
import type { ZenLeadConfig } from "./schema.ts";
import { type ControllerSettings, resolveSettings } from "./controller_settings.ts";

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

/** Imports an entry's module once the policy allowed it (tests replace it). */
export type PluginLoader = (name: string, module: ApprovedModule) => Promise<PluginDefinition>;

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
  /** `--plugin-module-allow`: where `module:` entries may load from; empty (the default) loads none. */
  readonly moduleAllow?: readonly AllowPrefix[];
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
    const run = this.queue.then(() =>
      this.applyNow(configMap).catch((error) =>
        // a bug here must refuse the version, not reject into a caller that cannot handle it.
        this.refuse(configMap ? "ConfigMap" : "no ConfigMap", configMap, [
          `${CONFIG_KEY}: ${errorText(error)}`,
        ])
      )
    );
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

    // The whole version is checked before any module is imported: a refused version runs no code.
    const modules = this.approvedModules(config);
    if (!modules.ok) return this.refuse(where, configMap, modules.problems);
    const early = [
      ...this.options.kernel.precheck(
        (config.plugins ?? []).map((e) => ({ ...e, module: e.module !== undefined })),
      ),
      ...defaultsNameProblems(config, (kind) => this.options.kernel.registeredNames(kind)),
    ];
    if (early.length) return this.refuse(where, configMap, early);

    let specs: PluginSpec[];
    try {
      specs = await this.pluginSpecs(config, modules.approved);
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

  /** The policy's decision for every `module:` entry; any refusal refuses the version before an import. */
  private approvedModules(
    config: ZenLeadConfig,
  ): { ok: true; approved: Map<number, ApprovedModule> } | { ok: false; problems: string[] } {
    const allow = this.options.moduleAllow ?? [];
    const baseDir = this.options.baseDir ?? Deno.cwd();
    const approved = new Map<number, ApprovedModule>();
    const problems: string[] = [];
    for (const [i, entry] of (config.plugins ?? []).entries()) {
      if (entry.module === undefined) {
        if (entry.integrity !== undefined) {
          problems.push(
            `${CONFIG_KEY}: plugins[${i}] (${entry.name}): integrity: expected it only with module`,
          );
        }
        continue;
      }
      const d = decideModule(
        `${CONFIG_KEY}: plugins[${i}] (${entry.name})`,
        entry.module,
        entry.integrity,
        allow,
        baseDir,
      );
      if (d.ok) approved.set(i, d);
      else problems.push(d.problem);
    }
    return problems.length ? { ok: false, problems } : { ok: true, approved };
  }

  /** Plugin entries with their modules loaded; a module that fails to load refuses the whole version. */
  private async pluginSpecs(
    config: ZenLeadConfig,
    approved: ReadonlyMap<number, ApprovedModule>,
  ): Promise<PluginSpec[]> {
    const allow = this.options.moduleAllow ?? [];
    const load = this.options.load ?? ((name, module) => loadPlugin(name, module, { allow }));
    const specs: PluginSpec[] = [];
    for (const [i, entry] of (config.plugins ?? []).entries()) {
      let definition: PluginDefinition | undefined;
      const module = approved.get(i);
      if (module) {
        try {
          definition = await load(entry.name, module);
        } catch (error) {
          throw new Error(`${CONFIG_KEY}: plugins[${i}] (${entry.name}): ${errorText(error)}`);
        }
      }
      specs.push({
        name: entry.name,
        definition,
        // the pinned hash is part of the source: a new hash for the same URL is a new plugin.
        source: entry.module === undefined
          ? undefined
          : `${entry.module}${entry.integrity ? "#" + entry.integrity : ""}`,
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
