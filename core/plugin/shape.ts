/** The shape every plugin definition must have, checked with valibot before the kernel accepts it. */
import * as v from "valibot";
import { describeIssues } from "./issues.ts";
import { PLUGIN_KINDS, type PluginDefinition } from "./types.ts";

/** Plugin names are what users write in annotations and the ConfigMap: lower-case DNS-style labels. */
export const PLUGIN_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const isFunction = (value: unknown): boolean => typeof value === "function";
// A valibot schema is an object carrying `kind: "schema"` and its `~run` method.
const isSchema = (value: unknown): boolean =>
  typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "schema" &&
  typeof (value as Record<string, unknown>)["~run"] === "function";

const definitionShape = v.object({
  name: v.pipe(v.string(), v.regex(PLUGIN_NAME)),
  kind: v.picklist(PLUGIN_KINDS),
  version: v.pipe(v.string(), v.minLength(1)),
  description: v.optional(v.string()),
  dependsOn: v.optional(v.array(v.string())),
  options: v.optional(v.custom(isSchema, "a valibot schema")),
  setup: v.custom(isFunction, "a function"),
  close: v.optional(v.custom(isFunction, "a function")),
});

/** Whether `value` looks like a plugin definition (used to pick plugins among a module's exports). */
export function looksLikePlugin(value: unknown): boolean {
  return typeof value === "object" && value !== null && "kind" in value && "setup" in value;
}

/** Problems with `value` as a plugin definition, each prefixed with `where`; empty when it is valid. */
export function definitionProblems(where: string, value: unknown): string[] {
  const result = v.safeParse(definitionShape, value, { abortEarly: false });
  if (result.success) return [];
  return describeIssues(`${where}: `, "", result.issues);
}

/** Narrows after `definitionProblems` returned none (the same shape, so a loaded module needs no cast). */
export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return v.is(definitionShape, value);
}
