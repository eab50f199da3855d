/**
 * Checks of `defaults:` that need the plugins themselves: named plugins must be enabled, and strategy options
 * and health-check short forms must pass the plugin's own schema. Run on the staged plugins before a swap.
 */
import * as v from "valibot";
import { errorText } from "../plugin/errors.ts";
import { describeIssues } from "../plugin/issues.ts";
import type { StagedPlugins } from "../plugin/kernel.ts";
import type { PluginKind } from "../plugin/types.ts";
import { CONFIG_KEY } from "./parse.ts";
import type { ServiceDefaults, ZenLeadConfig } from "./schema.ts";

function unknownName(
  path: string,
  kind: PluginKind,
  name: string,
  staged: StagedPlugins,
): string | undefined {
  if (staged.names(kind).includes(name)) return undefined;
  return `${CONFIG_KEY}: ${path}: expected one of the enabled ${kind} plugins [${
    staged.names(kind).join(", ")
  }], received "${name}"`;
}

export function serviceDefaultsProblems(
  defaults: ServiceDefaults | undefined,
  staged: StagedPlugins,
): string[] {
  if (!defaults) return [];
  const problems: string[] = [];
  const push = (p: string | undefined) => p && problems.push(p);

  if (defaults.strategy) push(unknownName("defaults.strategy", "strategy", defaults.strategy, staged));
  if (defaults.backend) push(unknownName("defaults.backend", "backend", defaults.backend, staged));

  for (const [name, options] of Object.entries(defaults.strategyOptions ?? {})) {
    const path = `defaults.strategyOptions.${name}`;
    const unknown = unknownName(path, "strategy", name, staged);
    if (unknown) {
      problems.push(unknown);
      continue;
    }
    // a strategy that failed at setup has no schema to check against; the default serves it anyway.
    const schema = staged.running("strategy", name)?.optionsSchema;
    if (!schema) continue;
    const result = v.safeParse(schema, options, { abortEarly: false });
    if (!result.success) problems.push(...describeIssues(`${CONFIG_KEY}: `, path, result.issues));
  }

  if (defaults.healthCheck) {
    const colon = defaults.healthCheck.indexOf(":");
    const name = colon < 0 ? defaults.healthCheck : defaults.healthCheck.slice(0, colon);
    const unknown = unknownName("defaults.healthCheck", "health", name, staged);
    if (unknown) problems.push(unknown);
    const checker = unknown ? undefined : staged.running("health", name);
    if (checker && colon >= 0) {
      const short = defaults.healthCheck.slice(colon + 1);
      if (!checker.parseShort) {
        problems.push(
          `${CONFIG_KEY}: defaults.healthCheck: expected "${name}" alone (this checker has no short form), ` +
            `received "${defaults.healthCheck}"`,
        );
      } else {
        try {
          const spec = checker.parseShort(short);
          if (checker.specSchema) {
            const result = v.safeParse(checker.specSchema, spec, { abortEarly: false });
            if (!result.success) {
              problems.push(...describeIssues(`${CONFIG_KEY}: `, "defaults.healthCheck", result.issues));
            }
          }
        } catch (error) {
          problems.push(
            `${CONFIG_KEY}: defaults.healthCheck: "${short}" is not a valid ${name} check: ${
              errorText(error)
            }`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * Names in `defaults:` checked before any module is imported: each must be a registered plugin of that kind
 * that the entries leave on, or the name of a `module:` entry (whose kind the staged check confirms later).
 */
export function defaultsNameProblems(
  config: ZenLeadConfig,
  registeredOfKind: (kind: PluginKind) => readonly string[],
): string[] {
  const d = config.defaults;
  if (!d) return [];
  const entries = config.plugins ?? [];
  const moduleNames = entries.filter((e) => e.module !== undefined).map((e) => e.name);
  const off = new Set(entries.filter((e) => e.enabled === false).map((e) => e.name));
  const problems: string[] = [];
  const check = (path: string, kind: PluginKind, name: string | undefined) => {
    if (name === undefined) return;
    const known = [...registeredOfKind(kind).filter((n) => !off.has(n)), ...moduleNames].sort();
    if (known.includes(name)) return;
    problems.push(
      `${CONFIG_KEY}: ${path}: expected one of the enabled ${kind} plugins [${known.join(", ")}], ` +
        `received "${name}"`,
    );
  };
  check("defaults.strategy", "strategy", d.strategy);
  check("defaults.backend", "backend", d.backend);
  if (d.healthCheck !== undefined) check("defaults.healthCheck", "health", d.healthCheck.split(":")[0]);
  for (const name of Object.keys(d.strategyOptions ?? {})) {
    check(`defaults.strategyOptions.${name}`, "strategy", name);
  }
  return problems;
}
