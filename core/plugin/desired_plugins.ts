/**
 * Which plugins should run, with which validated options: the registered definitions (enabled unless turned off)
 * merged with the configuration's plugin entries. Pure: no setup happens here, only checks.
 */
import * as v from "valibot";
import { canonicalJson } from "./canonical.ts";
import { describeIssues } from "./issues.ts";
import { dependencyOrder } from "./order.ts";
import type { PluginDefinition, PluginKind } from "./types.ts";

/** One plugin entry of the configuration. */
export interface PluginSpec {
  readonly name: string;
  /** A definition loaded from `source` for this entry; absent means the registered plugin of that name. */
  readonly definition?: PluginDefinition;
  /** Where `definition` came from (a module specifier), for change detection and messages. */
  readonly source?: string;
  /** Built-ins are enabled by default; `false` turns one off. */
  readonly enabled?: boolean;
  readonly options?: unknown;
}

/** A plugin that should run, with its options already validated. */
export interface DesiredPlugin {
  readonly name: string;
  readonly def: PluginDefinition;
  readonly options: unknown;
  /** Equal keys mean nothing changed: same definition source and canonical options. */
  readonly key: string;
}

export type DesiredResult =
  | { ok: true; plugins: DesiredPlugin[]; order: string[]; skipped: { name: string; reason: string }[] }
  | { ok: false; problems: string[] };

function label(def: PluginDefinition): string {
  return `plugin "${def.name}" (${def.kind})`;
}

/** Validates `raw` against the plugin's schema; absent options are `{}` so schemas with defaults apply them. */
export function validateOptions(
  def: PluginDefinition,
  raw: unknown,
): { ok: true; options: unknown } | { ok: false; problems: string[] } {
  if (!def.options) {
    const empty = raw === undefined ||
      (typeof raw === "object" && raw !== null && Object.keys(raw).length === 0);
    if (empty) return { ok: true, options: {} };
    return {
      ok: false,
      problems: [
        `${label(def)}: options: expected none (this plugin takes no options), received ${
          canonicalJson(raw)
        }`,
      ],
    };
  }
  const result = v.safeParse(def.options, raw ?? {}, { abortEarly: false });
  if (result.success) return { ok: true, options: result.output };
  return { ok: false, problems: describeIssues(`${label(def)}: `, "options", result.issues) };
}

/** One configuration entry as it is before any module is imported. */
export interface EntryPlan {
  readonly name: string;
  /** The entry names a `module` (its definition is not known until it is imported). */
  readonly module: boolean;
  readonly enabled?: boolean;
  readonly options?: unknown;
}

/**
 * Everything about the entries that can be checked without importing a module: names listed once, a module
 * not taking a built-in's name, built-ins that exist, the fallbacks left on, and built-ins' options. Run before
 * any import, so a version refused for these reasons runs no code.
 */
export function entryProblems(
  registered: ReadonlyMap<string, PluginDefinition>,
  entries: readonly EntryPlan[],
  fallbacks: Partial<Record<PluginKind, string>>,
): string[] {
  const problems: string[] = [];
  const listed = new Set<string>();
  entries.forEach((entry, i) => {
    const where = `plugins[${i}] (${entry.name})`;
    if (listed.has(entry.name)) {
      problems.push(`${where}: the name "${entry.name}" is listed twice; expected each plugin once`);
      return;
    }
    listed.add(entry.name);
    const builtin = registered.get(entry.name);
    if (entry.module) {
      if (builtin) {
        problems.push(
          `${where}: a module may not define "${entry.name}", a name already taken by the built-in ` +
            `${builtin.kind} plugin; expected a unique name`,
        );
      }
      return;
    }
    if (!builtin) {
      problems.push(
        `${where}: no plugin named "${entry.name}"; expected a built-in (${
          [...registered.keys()].sort().join(", ")
        }) or a "module" to load it from`,
      );
      return;
    }
    if (entry.enabled === false) {
      if (fallbacks[builtin.kind] === entry.name) {
        problems.push(
          `${where}: enabled: false is not allowed for "${entry.name}", the default ${builtin.kind} that ` +
            `takes over when another ${builtin.kind} fails; expected it enabled`,
        );
      }
      return;
    }
    const checked = validateOptions(builtin, entry.options);
    if (!checked.ok) problems.push(...checked.problems);
  });
  return problems;
}

/**
 * Merges registered definitions and configuration entries. `fallbacks` (per kind) cannot be turned off: they
 * take over when another plugin of their kind fails. A registered plugin that is not listed and whose schema
 * refuses empty options stays off (it needs configuration, e.g. a cloud backend's account) and is reported in
 * `skipped`.
 */
export function desiredPlugins(
  registered: ReadonlyMap<string, PluginDefinition>,
  specs: readonly PluginSpec[],
  fallbacks: Partial<Record<PluginKind, string>>,
): DesiredResult {
  const problems: string[] = [];
  const listed = new Map<string, PluginSpec>();
  specs.forEach((spec, i) => {
    const where = `plugins[${i}] (${spec.name})`;
    if (listed.has(spec.name)) {
      problems.push(`${where}: the name "${spec.name}" is listed twice; expected each plugin once`);
      return;
    }
    listed.set(spec.name, spec);
    const builtin = registered.get(spec.name);
    if (spec.definition && builtin) {
      problems.push(
        `${where}: module ${spec.source ?? "(inline)"} defines "${spec.name}", a name already taken by the ` +
          `built-in ${builtin.kind} plugin; expected a unique name`,
      );
    } else if (spec.definition && spec.definition.name !== spec.name) {
      problems.push(
        `${where}: module ${spec.source ?? "(inline)"} defines a plugin named "${spec.definition.name}", ` +
          `expected one named "${spec.name}"`,
      );
    } else if (!spec.definition && !builtin) {
      problems.push(
        `${where}: no plugin named "${spec.name}"; expected a built-in (${
          [...registered.keys()].sort().join(", ")
        }) or a "module" to load it from`,
      );
    }
    const def = spec.definition ?? builtin;
    if (def && spec.enabled === false && fallbacks[def.kind] === spec.name) {
      problems.push(
        `${where}: enabled: false is not allowed for "${spec.name}", the default ${def.kind} that takes over ` +
          `when another ${def.kind} fails; expected it enabled`,
      );
    }
  });
  if (problems.length > 0) return { ok: false, problems };

  const plugins: DesiredPlugin[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const consider = (def: PluginDefinition, spec: PluginSpec | undefined) => {
    if (spec?.enabled === false) return;
    const checked = validateOptions(def, spec?.options);
    if (!checked.ok) {
      if (spec) problems.push(...checked.problems);
      else skipped.push({ name: def.name, reason: checked.problems.join("; ") });
      return;
    }
    const key = canonicalJson({
      source: spec?.source ?? "builtin",
      version: def.version,
      options: checked.options,
    });
    plugins.push({ name: def.name, def, options: checked.options, key });
  };
  for (const def of registered.values()) consider(def, listed.get(def.name));
  for (const spec of specs) if (spec.definition) consider(spec.definition, spec);
  if (problems.length > 0) return { ok: false, problems };

  const ordered = dependencyOrder(plugins.map((p) => ({ name: p.name, dependsOn: p.def.dependsOn })));
  if (!ordered.ok) return { ok: false, problems: ordered.problems };
  return { ok: true, plugins, order: ordered.order, skipped };
}
