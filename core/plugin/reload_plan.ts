/** What a reconfiguration changes, decided from plain data: which plugins to re-create, and the change list. */
import type { DesiredPlugin } from "./desired_plugins.ts";
import type { Slot } from "./instances.ts";
import type { PluginKind } from "./types.ts";

export interface PluginChange {
  readonly name: string;
  readonly kind: PluginKind;
  readonly action: "added" | "recreated" | "removed";
}

/** The desired plugins (in setup order) that are new, changed, or depend on one that is re-created. */
export function pluginsToRecreate(
  order: readonly string[],
  byName: ReadonlyMap<string, DesiredPlugin>,
  current: ReadonlyMap<string, Slot>,
): Set<string> {
  const recreate = new Set<string>();
  for (const name of order) {
    const plugin = byName.get(name)!;
    const old = current.get(name);
    // a plugin holding a re-created dependency must be re-created to see the new instance.
    const depChanged = (plugin.def.dependsOn ?? []).some((d) => recreate.has(d));
    if (!old || old.plugin.def !== plugin.def || old.plugin.key !== plugin.key || depChanged) {
      recreate.add(name);
    }
  }
  return recreate;
}

/** The plugins `created` (added or re-created) into `staged`, then those of `previousOrder` no longer staged. */
export function changesOf(
  created: readonly string[],
  staged: ReadonlyMap<string, Slot>,
  previousOrder: readonly string[],
  previous: ReadonlyMap<string, Slot>,
): PluginChange[] {
  return [
    ...created.map((name) => ({
      name,
      kind: staged.get(name)!.plugin.def.kind,
      action: previous.has(name) ? "recreated" as const : "added" as const,
    })),
    ...previousOrder.filter((n) => !staged.has(n)).map((name) => ({
      name,
      kind: previous.get(name)!.plugin.def.kind,
      action: "removed" as const,
    })),
  ];
}

export function describeChange(c: PluginChange): string {
  return `${c.action} ${c.kind} ${c.name}`;
}
