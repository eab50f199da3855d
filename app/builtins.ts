/** The plugins compiled into zen-lead: the built-in strategies, health checkers, backends and exporters. */
import type { PluginDefinition } from "../mod.ts";
import type { KernelParts } from "../core/plugin/kernel.ts";
import { builtinStrategies, rankOldest } from "../strategies/mod.ts";
import { builtinHealthCheckers } from "../health/mod.ts";
import { builtinPlugins as builtinOtherPlugins } from "../plugins/mod.ts";

/** Every built-in plugin: registered exactly like a user's. */
export function builtinPlugins(): PluginDefinition[] {
  return [...builtinStrategies, ...builtinHealthCheckers, ...builtinOtherPlugins];
}

/** What every kernel gets: the built-ins plus `extra`, and the `oldest` ranking as the last resort. */
export function kernelParts(extra: readonly PluginDefinition[] = []): KernelParts {
  return { plugins: [...builtinPlugins(), ...extra], lastResortRanking: rankOldest };
}
