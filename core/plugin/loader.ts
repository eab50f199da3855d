/**
 * Loads users' plugins from source: a ConfigMap entry's `module` that the policy (module_policy.ts) allowed is
 * imported, and its default export or named exports that are plugin definitions are checked. Files are imported
 * once their real path (symlinks resolved) is still under an allowed directory; URLs are fetched, verified
 * against their integrity hash and evaluated from memory (module_source.ts).
 */
import { errorText, PluginLoadError } from "./errors.ts";
import { type AllowPrefix, isUnder, type ModuleDecision } from "./module_policy.ts";
import { evaluateBytes, fetchModule, importProblem, integrityProblem } from "./module_source.ts";
import { definitionProblems, isPluginDefinition, looksLikePlugin } from "./shape.ts";
import type { PluginDefinition } from "./types.ts";

/** A module the policy allowed. */
export type ApprovedModule = Extract<ModuleDecision, { ok: true }>;

export interface LoadOptions {
  /** The allow-list the module was approved under (file modules are re-checked on their real path). */
  readonly allow: readonly AllowPrefix[];
  /** Replaces `fetch` for URL modules (tests). */
  readonly fetch?: typeof fetch;
}

function describe(module: ApprovedModule): string {
  return module.kind === "url" ? module.url.href : module.path;
}

async function realPathUnderAllowed(path: string, allow: readonly AllowPrefix[]): Promise<string> {
  const real = await Deno.realPath(path);
  for (const p of allow) {
    if (p.kind !== "path") continue;
    const dir = await Deno.realPath(p.dir).catch(() => undefined);
    if (dir !== undefined && isUnder(real, dir)) return real;
  }
  throw new Error(`its real path ${real} (symlinks resolved) is under none of the allowed directories`);
}

/** A URL module's bytes, verified once per (URL, hash): a reload with the same entry does not fetch again. */
const verified = new Map<string, Record<string, unknown>>();

async function importApproved(module: ApprovedModule, opts: LoadOptions): Promise<Record<string, unknown>> {
  if (module.kind === "file") {
    const real = await realPathUnderAllowed(module.path, opts.allow);
    if (module.integrity) {
      const problem = await integrityProblem(await Deno.readFile(real), module.integrity);
      if (problem) throw new Error(problem);
    }
    return await import(`file://${real}`);
  }
  const cacheKey = `${module.url.href}\u0000${module.integrity}`;
  const cached = verified.get(cacheKey);
  if (cached) return cached;
  const bytes = await fetchModule(module.url, opts.fetch);
  const mismatch = await integrityProblem(bytes, module.integrity);
  if (mismatch) throw new Error(mismatch);
  const imports = importProblem(new TextDecoder().decode(bytes));
  if (imports) throw new Error(imports);
  const exports = await evaluateBytes(bytes, module.url);
  verified.set(cacheKey, exports);
  return exports;
}

/** Every plugin definition an allowed module exports (default first, then named exports in order), validated. */
export async function loadPluginModule(
  module: ApprovedModule,
  opts: LoadOptions,
): Promise<PluginDefinition[]> {
  const specifier = describe(module);
  let exports: Record<string, unknown>;
  try {
    exports = await importApproved(module, opts);
  } catch (error) {
    throw new PluginLoadError(specifier, `plugin module ${specifier}: cannot load: ${errorText(error)}`, {
      cause: error,
    });
  }
  const candidates = Object.entries(exports)
    .sort(([a], [b]) => (a === "default" ? -1 : b === "default" ? 1 : 0))
    .filter(([, value]) => looksLikePlugin(value));
  if (candidates.length === 0) {
    throw new PluginLoadError(
      specifier,
      `plugin module ${specifier}: exports no plugin definition; expected a default or named export ` +
        `{ name, kind, version, setup } (e.g. from defineStrategy), received exports [${
          Object.keys(exports).join(", ") || "none"
        }]`,
    );
  }
  const seen = new Set<unknown>();
  const problems: string[] = [];
  const plugins: PluginDefinition[] = [];
  for (const [exportName, value] of candidates) {
    if (seen.has(value)) continue; // `export default x` and `export { x }` are one plugin.
    seen.add(value);
    const found = definitionProblems(`plugin module ${specifier}, export ${exportName}`, value);
    if (found.length) problems.push(...found);
    else if (isPluginDefinition(value)) plugins.push(value);
  }
  if (problems.length) throw new PluginLoadError(specifier, problems.join("; "));
  return plugins;
}

/** The plugin named `name` among an allowed module's exports. */
export async function loadPlugin(
  name: string,
  module: ApprovedModule,
  opts: LoadOptions,
): Promise<PluginDefinition> {
  const plugins = await loadPluginModule(module, opts);
  const found = plugins.find((p) => p.name === name);
  if (found) return found;
  const specifier = describe(module);
  throw new PluginLoadError(
    specifier,
    `plugin module ${specifier}: has no plugin named "${name}"; expected one of its plugins [${
      plugins.map((p) => p.name).join(", ")
    }] as the entry's name`,
  );
}
