/** Setup order of plugins from their `dependsOn`: a pure topological sort with clear errors. */

export interface DependencyNode {
  readonly name: string;
  readonly dependsOn?: readonly string[];
}

export type OrderResult =
  | { ok: true; order: string[] }
  | { ok: false; problems: string[] };

/**
 * Names in an order where every plugin comes after its dependencies; ties keep the input order so setup is
 * deterministic. A dependency that is not in `nodes` or a cycle is a problem naming the plugins involved.
 */
export function dependencyOrder(nodes: readonly DependencyNode[]): OrderResult {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const problems: string[] = [];
  for (const node of nodes) {
    for (const dep of node.dependsOn ?? []) {
      if (!byName.has(dep)) {
        problems.push(
          `plugin "${node.name}": dependsOn names "${dep}", expected an enabled plugin ` +
            `(enabled: ${[...byName.keys()].join(", ") || "none"})`,
        );
      }
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]): string | undefined => {
    const s = state.get(name);
    if (s === "done") return undefined;
    if (s === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      return `plugins depend on each other in a cycle: ${cycle.join(" -> ")}`;
    }
    state.set(name, "visiting");
    for (const dep of byName.get(name)!.dependsOn ?? []) {
      const cycle = visit(dep, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, "done");
    order.push(name);
    return undefined;
  };
  for (const node of nodes) {
    const cycle = visit(node.name, []);
    if (cycle) return { ok: false, problems: [cycle] };
  }
  return { ok: true, order };
}
