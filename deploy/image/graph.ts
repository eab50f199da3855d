/**
 * Which npm packages the controller's module graph needs: the packages its modules import (statically or by
 * literal dynamic import) and their dependencies, read from `deno info --json main.ts`. Everything else in
 * the lockfile (fast-check, the OpenTelemetry SDK of the tests) stays out of the image.
 */

export interface DenoInfo {
  modules: { kind?: string; npmPackage?: string }[];
  npmPackages: Record<string, { name: string; version: string; dependencies?: string[] }>;
}

/** The ids (`name@version[_peers]`) of the npm packages reachable from the graph's npm imports. */
export function reachableNpmPackages(info: DenoInfo): Set<string> {
  const seen = new Set<string>();
  const todo = info.modules.flatMap((m) => (m.kind === "npm" && m.npmPackage ? [m.npmPackage] : []));
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (seen.has(id)) continue;
    const pkg = info.npmPackages[id];
    if (!pkg) throw new Error(`deno info: the graph imports ${id}, which is not among its npmPackages`);
    seen.add(id);
    todo.push(...(pkg.dependencies ?? []));
  }
  return seen;
}

/**
 * deno.json's import map without the entries the graph never reaches (test-only packages): the image's own
 * config, so `deno install` prunes them from its copy of deno.lock and the frozen cache holds none of them.
 */
export function runtimeImports(imports: Record<string, string>, info: DenoInfo): Record<string, string> {
  const used = reachableNpmPackages(info);
  const kept: Record<string, string> = {};
  for (const [key, target] of Object.entries(imports)) {
    const npm = target.match(/^npm:\/?(@?[^@]+)@([^/]+)/);
    if (
      !npm || [...used].some((id) => id === `${npm[1]}@${npm[2]}` || id.startsWith(`${npm[1]}@${npm[2]}_`))
    ) {
      kept[key] = target;
    }
  }
  return kept;
}

/** Entries of the image's lockfile that differ from the repository's (it may only drop entries, never add). */
export function lockChanges(
  original: { npm?: Record<string, { integrity?: string }>; specifiers?: Record<string, string> },
  pruned: { npm?: Record<string, { integrity?: string }>; specifiers?: Record<string, string> },
): string[] {
  const changes: string[] = [];
  for (const [id, entry] of Object.entries(pruned.npm ?? {})) {
    const was = original.npm?.[id];
    if (!was || was.integrity !== entry.integrity) changes.push(`npm ${id}`);
  }
  for (const [spec, version] of Object.entries(pruned.specifiers ?? {})) {
    if (original.specifiers?.[spec] !== version) changes.push(`specifier ${spec}`);
  }
  return changes;
}

/** Files the runtime never reads (types and source maps are for `deno check` and debuggers). */
export function isRuntimeIrrelevant(path: string): boolean {
  return /\.d\.[cm]?ts$|\.map$/.test(path);
}
