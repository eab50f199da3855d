/**
 * The plugin kernel: holds every plugin definition (built-ins and users' alike), validates a configuration of
 * them, sets them up in dependency order, re-creates only what changed on reload, closes in reverse, and hands
 * the controller guarded wrappers so that a failing plugin is isolated and its kind's default takes over.
 */
import type { Logger } from "../log.ts";
import type { Counter, MetricsRegistry } from "../metrics/registry.ts";
import { desiredPlugins, type EntryPlan, entryProblems, type PluginSpec } from "./desired_plugins.ts";
import { errorText, PluginConfigError } from "./errors.ts";
import {
  closeSlots,
  namesIn,
  type PluginPhase,
  runningIn,
  setUpSlot,
  type Slot,
  type SlotHost,
} from "./instances.ts";
import { DEFAULT_FALLBACKS, type LastResortRanking } from "./fallback.ts";
import { changesOf, describeChange, type PluginChange, pluginsToRecreate } from "./reload_plan.ts";
import { ALWAYS_ACTIVE } from "./replica_activity.ts";
import {
  guardedBackend,
  guardedExporter,
  guardedHealth,
  guardedStrategy,
  type GuardHost,
  type NamedExporter,
} from "./guards.ts";
import { definitionProblems } from "./shape.ts";
import type {
  BackendStatus,
  CloudBackend,
  HealthChecker,
  Leadership,
  LeaderStrategy,
  PluginDefinition,
  PluginInstances,
  PluginKind,
} from "./types.ts";

export type { PluginSpec } from "./desired_plugins.ts";
export type { NamedExporter } from "./guards.ts";

/** What the composition root hands every kernel it builds (the controller's, explain's). */
export interface KernelParts {
  /** Built-in and registered definitions; names must be unique. */
  readonly plugins: readonly PluginDefinition[];
  /** The `oldest` strategy's ranking, answering when the default strategy fails too. */
  readonly lastResortRanking: LastResortRanking;
}

export interface KernelOptions extends KernelParts {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** The default of each kind, taking over when another fails (default: oldest, ready, prometheus). */
  readonly fallbacks?: Partial<Record<PluginKind, string>>;
  /** This replica's active/standby state, handed to plugins (default: always active). */
  readonly leadership?: Leadership;
}

/** How one plugin is doing, for logs, /readyz and debugging. */
export interface PluginStatus {
  readonly name: string;
  readonly kind: PluginKind;
  readonly version: string;
  readonly state: "running" | "failed";
  readonly error?: string;
}

/** What a configure call changed; the controller re-enqueues the Services that use these plugins. */
export interface KernelChange {
  readonly changes: readonly PluginChange[];
}

/** The plugins a configure call is about to swap in, as a StagedCheck sees them. */
export interface StagedPlugins {
  /** The instance of `name` if it is of `kind` and its setup succeeded. */
  running<K extends PluginKind>(kind: K, name: string): PluginInstances[K] | undefined;
  /** Enabled plugin names of `kind`, sorted. */
  names(kind: PluginKind): string[];
}

/** Checks run against the staged instances before they replace the running ones; problems refuse the config. */
export type StagedCheck = (staged: StagedPlugins) => string[] | Promise<string[]>;

export class PluginKernel {
  private readonly registered = new Map<string, PluginDefinition>();
  private readonly logger: Logger;
  private readonly metrics: MetricsRegistry;
  private readonly leadership: Leadership;
  private readonly errors: Counter;
  private readonly fallbacks: Partial<Record<PluginKind, string>>;
  private slots = new Map<string, Slot>();
  private order: string[] = [];
  private readonly listeners = new Set<(change: KernelChange) => void>();
  private readonly statusListeners = new Map<string, Set<(key: string, status: BackendStatus) => void>>();
  // configure() and close() run one at a time so a reload never interleaves with another.
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly host: GuardHost;
  private readonly slotHost: SlotHost;

  constructor(options: KernelOptions) {
    this.logger = options.logger.child({ component: "plugin-kernel" });
    this.metrics = options.metrics;
    this.fallbacks = { ...DEFAULT_FALLBACKS, ...options.fallbacks };
    this.leadership = options.leadership ?? ALWAYS_ACTIVE;
    this.errors = this.metrics.counter({
      name: "zen_lead_plugin_errors_total",
      help: "Plugin failures isolated by the kernel, by plugin, kind and phase (setup, run, close).",
      labelNames: ["plugin", "kind", "phase"],
    });
    for (const def of options.plugins) this.register(def);
    this.slotHost = {
      logger: this.logger,
      metrics: this.metrics,
      leadership: this.leadership,
      report: (name, kind, phase, error) => this.report(name, kind, phase, error),
    };
    this.host = {
      running: (kind, name) => this.running(kind, name),
      fallback: (kind) => this.fallbacks[kind],
      lastResortRanking: options.lastResortRanking,
      reportError: (name, kind, phase, error) => this.report(name, kind, phase, error),
      addStatusListener: (name, listener) => this.addStatusListener(name, listener),
    };
  }

  /** Adds a definition; it runs from the next `configure`. A malformed one or a taken name throws. */
  register(def: PluginDefinition): void {
    const where = `plugin "${(def as { name?: unknown })?.name ?? "?"}"`;
    const problems = definitionProblems(where, def);
    const taken = this.registered.get(def?.name);
    if (taken) {
      problems.push(
        `${where}: the name is already registered by a ${taken.kind} plugin (version ${taken.version}); ` +
          `expected unique plugin names, received a second ${def.kind} plugin (version ${def.version})`,
      );
    }
    if (problems.length) throw new PluginConfigError(problems);
    this.registered.set(def.name, def);
  }

  /** Problems of configuration entries found without importing any module (see entryProblems). */
  precheck(entries: readonly EntryPlan[]): string[] {
    return entryProblems(this.registered, entries, this.fallbacks);
  }

  /**
   * Applies a set of plugin entries: validates all of them first (nothing changes on a problem, the
   * PluginConfigError lists every one), then sets up new and changed plugins (and those depending on them) in
   * dependency order, runs `check` on the staged set, swaps it in, and closes replaced and removed plugins in
   * reverse order. A plugin that throws at setup is isolated (failed state, its kind's default serves it).
   */
  configure(specs: readonly PluginSpec[] = [], check?: StagedCheck): Promise<KernelChange> {
    const run = this.queue.then(() => this.configureNow(specs, check));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async configureNow(specs: readonly PluginSpec[], check?: StagedCheck): Promise<KernelChange> {
    if (this.closed) throw new Error("plugin kernel is closed; expected configure() before close()");
    const desired = desiredPlugins(this.registered, specs, this.fallbacks);
    if (!desired.ok) throw new PluginConfigError(desired.problems);
    for (const s of desired.skipped) this.logger.debug("plugin left off: it needs options", s);

    const byName = new Map(desired.plugins.map((p) => [p.name, p]));
    const recreate = pluginsToRecreate(desired.order, byName, this.slots);

    const staged = new Map<string, Slot>();
    const created: string[] = [];
    for (const name of desired.order) {
      if (!recreate.has(name)) {
        staged.set(name, this.slots.get(name)!);
        continue;
      }
      staged.set(name, await setUpSlot(this.slotHost, byName.get(name)!, staged));
      created.push(name);
    }

    if (check) {
      const view: StagedPlugins = {
        running: (kind, name) => runningIn(staged, kind, name),
        names: (kind) => namesIn(staged, kind),
      };
      let problems: string[];
      try {
        problems = await check(view);
      } catch (error) {
        problems = [`checking the new plugins failed: ${errorText(error)}`];
      }
      if (problems.length) {
        await closeSlots(this.slotHost, created.toReversed().map((n) => staged.get(n)!));
        throw new PluginConfigError(problems);
      }
    }

    const previous = this.slots;
    const previousOrder = this.order;
    this.slots = staged;
    this.order = desired.order;
    for (const name of created) this.attachStatusListeners(name);

    const retired = previousOrder.toReversed().filter((n) => !staged.has(n) || recreate.has(n));
    await closeSlots(this.slotHost, retired.map((n) => previous.get(n)!));

    const changes = changesOf(created, staged, previousOrder, previous);
    const change = { changes };
    if (changes.length) this.logger.info("plugins reconfigured", { changes: changes.map(describeChange) });
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error("plugin change listener threw", { error });
      }
    }
    return change;
  }

  /** Closes every plugin in reverse dependency order; the kernel cannot be configured afterwards. */
  close(): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      this.closed = true;
      await closeSlots(this.slotHost, this.order.toReversed().map((n) => this.slots.get(n)!));
      this.slots = new Map();
      this.order = [];
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private report(name: string, kind: PluginKind, phase: PluginPhase, error: unknown): void {
    this.errors.inc({ plugin: name, kind, phase });
    const fallback = this.fallbacks[kind];
    const takesOver = kind === "backend" ? "no backend" : fallback && fallback !== name ? fallback : "none";
    this.logger.error(`plugin failed at ${phase}; isolated`, { plugin: name, kind, phase, error, takesOver });
  }

  private running<K extends PluginKind>(kind: K, name: string): PluginInstances[K] | undefined {
    return runningIn(this.slots, kind, name);
  }

  private addStatusListener(name: string, listener: (key: string, status: BackendStatus) => void): void {
    let set = this.statusListeners.get(name);
    if (!set) this.statusListeners.set(name, set = new Set());
    // registering the same listener again (e.g. after every reload) must not make it fire twice.
    if (set.has(listener)) return;
    set.add(listener);
    const slot = this.slots.get(name);
    if (slot?.instance !== undefined) this.attach(slot, listener);
  }

  private attachStatusListeners(name: string): void {
    const slot = this.slots.get(name)!;
    if (slot.plugin.def.kind !== "backend" || slot.instance === undefined) return;
    for (const listener of this.statusListeners.get(name) ?? []) this.attach(slot, listener);
  }

  private attach(slot: Slot, listener: (key: string, status: BackendStatus) => void): void {
    const backend = slot.instance as CloudBackend;
    // a replaced instance may still report; only the current one reaches the controller.
    backend.onStatus((key, status) => {
      if (this.slots.get(slot.plugin.name) === slot) listener(key, status);
    });
  }

  /** A LeaderStrategy that always answers: `name`'s ranking, or the default strategy's when it fails. */
  strategy(name: string): LeaderStrategy {
    return guardedStrategy(this.host, name);
  }

  /** A HealthChecker that always answers; see guardedHealth for what a failing checker yields. */
  health(name: string): HealthChecker {
    return guardedHealth(this.host, name);
  }

  /** The backend `name` behind a guard, or undefined when no such backend is enabled (no default backend). */
  backend(name: string | undefined): CloudBackend | undefined {
    return name !== undefined && this.has("backend", name) ? guardedBackend(this.host, name) : undefined;
  }

  /** Running exporters behind guards; the default exporter is always among them unless its setup failed. */
  exporters(): NamedExporter[] {
    const out: NamedExporter[] = [];
    for (const name of this.order) {
      const instance = this.running("exporter", name);
      if (instance) out.push(guardedExporter(this.host, name, instance));
    }
    return out;
  }

  /** Whether `name` is an enabled plugin of `kind` (running or failed: a failed one is served by the default). */
  has(kind: PluginKind, name: string): boolean {
    return this.slots.get(name)?.plugin.def.kind === kind;
  }

  /** Enabled plugin names of `kind`, sorted: the valid choices in messages. */
  names(kind: PluginKind): string[] {
    return namesIn(this.slots, kind);
  }

  /** Every enabled plugin in setup order with its state. */
  status(): PluginStatus[] {
    return this.order.map((name) => {
      const { plugin, error } = this.slots.get(name)!;
      return {
        name,
        kind: plugin.def.kind,
        version: plugin.def.version,
        state: error === undefined ? "running" : "failed",
        ...(error === undefined ? {} : { error }),
      };
    });
  }

  /** Names of all registered definitions (built-ins and registered plugins, of `kind` if given), enabled or not. */
  registeredNames(kind?: PluginKind): string[] {
    return [...this.registered.values()].filter((d) => kind === undefined || d.kind === kind).map((d) =>
      d.name
    )
      .sort();
  }

  /** Called after every configure that changed something; returns an unsubscribe function. */
  onChange(listener: (change: KernelChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
