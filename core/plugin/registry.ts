/**
 * The hook for compiled binaries: an entry file registers its own plugins before starting the controller, and
 * main.ts hands `registeredPlugins()` to the kernel next to the built-ins. Running from source, the ConfigMap's
 * `module:` entries do the same job.
 */
import type { PluginDefinition } from "./types.ts";

const registered: PluginDefinition[] = [];

/** Adds a plugin to those the next kernel starts with; a duplicate name is rejected by the kernel. */
export function registerPlugin(def: PluginDefinition): void {
  registered.push(def);
}

/** The plugins registered so far, in registration order. */
export function registeredPlugins(): readonly PluginDefinition[] {
  return [...registered];
}
