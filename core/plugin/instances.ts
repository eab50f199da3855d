/** One plugin's lifecycle in the kernel: set up with its context, checked for its kind's members, closed. */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { DesiredPlugin } from "./desired_plugins.ts";
import { errorText } from "./errors.ts";
import type { Leadership, PluginContext, PluginInstances, PluginKind } from "./types.ts";

export type PluginPhase = "setup" | "run" | "close";

/** A plugin as the kernel holds it: its desired entry, its abort signal, and its instance or setup error. */
export interface Slot {
  readonly plugin: DesiredPlugin;
  readonly abort: AbortController;
  readonly instance?: unknown;
  readonly error?: string;
}

/** What setting up and closing a plugin needs of the kernel. */
export interface SlotHost {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly leadership: Leadership;
  report(name: string, kind: PluginKind, phase: PluginPhase, error: unknown): void;
}

const INSTANCE_CHECKS: Record<PluginKind, { members: string[] }> = {
  strategy: { members: ["rank"] },
  health: { members: ["check"] },
  backend: { members: ["apply", "remove", "onStatus"] },
  exporter: { members: [] },
};

/** Why an instance returned by setup cannot serve its kind, or undefined when it can. */
function instanceProblem(kind: PluginKind, instance: unknown): string | undefined {
  if (typeof instance !== "object" || instance === null) {
    return `setup returned ${instance === null ? "null" : typeof instance}, expected a ${kind} object`;
  }
  const missing = INSTANCE_CHECKS[kind].members.filter(
    (m) => typeof (instance as Record<string, unknown>)[m] !== "function",
  );
  return missing.length
    ? `setup returned an object without ${missing.join(", ")}(), expected a ${kind}`
    : undefined;
}

/**
 * Sets up one plugin against the `staged` slots of its dependencies; a throw, an unusable instance or a failed
 * dependency yields a slot with `error` (reported), never a rejection.
 */
export async function setUpSlot(
  host: SlotHost,
  plugin: DesiredPlugin,
  staged: ReadonlyMap<string, Slot>,
): Promise<Slot> {
  const { def, name } = plugin;
  const abort = new AbortController();
  const deps = def.dependsOn ?? [];
  const failedDep = deps.find((d) => staged.get(d)?.error !== undefined);
  if (failedDep) {
    const error = `dependency "${failedDep}" failed at setup: ${staged.get(failedDep)!.error}`;
    host.report(name, def.kind, "setup", new Error(error));
    return { plugin, abort, error };
  }
  const ctx: PluginContext<unknown> = {
    name,
    options: plugin.options,
    logger: host.logger.child({ plugin: name, kind: def.kind }),
    metrics: host.metrics,
    signal: abort.signal,
    leadership: host.leadership,
    dependency: <T>(dep: string): T => {
      if (!deps.includes(dep)) {
        throw new Error(
          `plugin "${name}": dependency("${dep}") is not declared; expected one of dependsOn [${
            deps.join(", ")
          }]`,
        );
      }
      return staged.get(dep)!.instance as T;
    },
  };
  try {
    const instance = await def.setup(ctx);
    const problem = instanceProblem(def.kind, instance);
    if (problem) throw new Error(problem);
    host.logger.debug("plugin set up", { plugin: name, kind: def.kind, version: def.version });
    return { plugin, abort, instance };
  } catch (error) {
    abort.abort(new Error(`plugin "${name}" failed at setup`));
    host.report(name, def.kind, "setup", error);
    return { plugin, abort, error: errorText(error) };
  }
}

/** Aborts each slot's signal and closes its instance, in the order given; close errors are reported. */
export async function closeSlots(host: SlotHost, slots: readonly Slot[]): Promise<void> {
  for (const slot of slots) {
    const { def, name } = slot.plugin;
    slot.abort.abort(new Error(`plugin "${name}" closed`));
    if (slot.instance === undefined || !def.close) continue;
    try {
      await def.close(slot.instance);
    } catch (error) {
      host.report(name, def.kind, "close", error);
    }
  }
}

export function runningIn<K extends PluginKind>(
  slots: ReadonlyMap<string, Slot>,
  kind: K,
  name: string,
): PluginInstances[K] | undefined {
  const slot = slots.get(name);
  if (!slot || slot.plugin.def.kind !== kind || slot.instance === undefined) return undefined;
  return slot.instance as PluginInstances[K];
}

export function namesIn(slots: ReadonlyMap<string, Slot>, kind: PluginKind): string[] {
  return [...slots.values()].filter((s) => s.plugin.def.kind === kind).map((s) => s.plugin.name).sort();
}
