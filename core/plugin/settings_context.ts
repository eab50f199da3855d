/**
 * The SettingsContext of a Service's annotations: the ConfigMap's `defaults:` and what the kernel offers. One
 * builder for the controller and `zen-lead explain`, so both parse annotations against the same context.
 */
import type { ServiceDefaults } from "../config/schema.ts";
import type { SettingsContext } from "../leader/service_settings.ts";
import type { PluginKernel } from "./kernel.ts";

/** Built-in defaults where the ConfigMap's `defaults:` says nothing. */
export const BUILTIN_SERVICE_DEFAULTS = {
  strategy: "oldest",
  sticky: true,
  healthCheck: "ready",
  failMode: "open",
  leaderCount: 1,
  minReadyDuration: "0s",
} as const;

export function settingsContextOf(kernel: PluginKernel, d: ServiceDefaults = {}): SettingsContext {
  return {
    defaultStrategy: d.strategy ?? BUILTIN_SERVICE_DEFAULTS.strategy,
    defaultSticky: d.sticky ?? BUILTIN_SERVICE_DEFAULTS.sticky,
    defaultHealthCheck: d.healthCheck ?? BUILTIN_SERVICE_DEFAULTS.healthCheck,
    defaultFailMode: BUILTIN_SERVICE_DEFAULTS.failMode,
    strategyDefaults: (d.strategyOptions ?? {}) as Record<string, Record<string, unknown>>,
    strategies: kernel.names("strategy"),
    strategyOptionsSchema: (n) => kernel.strategy(n).optionsSchema,
    healthTypes: kernel.names("health"),
    healthChecker: (n) => kernel.has("health", n) ? kernel.health(n) : undefined,
    backends: kernel.names("backend"),
    defaultBackend: d.backend,
  };
}
