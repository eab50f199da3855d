/**
 * Loads users' plugins from source: a ConfigMap entry's `module` (a file path relative to the working directory,
 * or a URL) is imported, and its default export or named exports that are plugin definitions are checked.
 */
import { errorText, PluginLoadError } from "./errors.ts";
import { definitionProblems, looksLikePlugin } from "./shape.ts";
import type { PluginDefinition } from "./types.ts";

/** The URL `specifier` names: URLs as they are, paths resolved against `baseDir` (absolute paths kept). */
export function resolveModuleUrl(specifier: string, baseDir: string): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) return new URL(specifier);
  const base = new URL(`file://${baseDir.endsWith("/") ? baseDir : baseDir + "/"}`);
  return new URL(specifier, base);
}

/** Every plugin definition a module exports (default first, then named exports in order), each validated. */
export async function loadPluginModule(
  specifier: string,
  baseDir: string = Deno.cwd(),
): Promise<PluginDefinition[]> {
  const url = resolveModuleUrl(specifier, baseDir);
  let exports: Record<string, unknown>;
  try {
    exports = await import(url.href);
  } catch (error) {
    throw new PluginLoadError(
      specifier,
      `plugin module ${specifier}: cannot import ${url.href}: ${errorText(error)}`,
      { cause: error },
    );
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
    else plugins.push(value as PluginDefinition);
  }
  if (problems.length) throw new PluginLoadError(specifier, problems.join("; "));
  return plugins;
}

/** The plugin named `name` among a module's exports; a module with one plugin must name it `name` too. */
export async function loadPlugin(
  name: string,
  specifier: string,
  baseDir?: string,
): Promise<PluginDefinition> {
  const plugins = await loadPluginModule(specifier, baseDir);
  const found = plugins.find((p) => p.name === name);
  if (found) return found;
  throw new PluginLoadError(
    specifier,
    `plugin module ${specifier}: has no plugin named "${name}"; expected one of its plugins [${
      plugins.map((p) => p.name).join(", ")
    }] as the entry's name`,
  );
}
