/** The plugins compiled into zen-lead: the built-in strategies, health checkers, backends and exporters. */
import type { PluginDefinition } from "../mod.ts";
import { builtinStrategies } from "../strategies/mod.ts";
import { builtinHealthCheckers } from "../health/mod.ts";
import { builtinPlugins as builtinOtherPlugins } from "../plugins/mod.ts";

/** Every built-in plugin: registered exactly like a user's. */
export function builtinPlugins(): PluginDefinition[] {
  return [...builtinStrategies, ...builtinHealthCheckers, ...builtinOtherPlugins] as PluginDefinition[];
}
