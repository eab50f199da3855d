/** The controller's settings of a Service as plain data (status document) and back (explain's "last good"). */
import type { ServiceSettings, SettingsContext } from "../leader/service_settings.ts";
import type { ReportedSettings } from "./model.ts";

export function reportSettings(s: ServiceSettings): ReportedSettings {
  return {
    strategy: s.strategy,
    strategyOptions: s.strategyOptions,
    sticky: s.sticky,
    count: s.count,
    minReadyMs: s.minReadyMs,
    healthCheck: { type: s.healthCheck.type, spec: s.healthCheck.spec, schedule: s.healthCheck.schedule },
    failMode: s.failMode,
    ...(s.backend ? { backend: s.backend } : {}),
  };
}

/** Back to ServiceSettings with this kernel's checker; undefined when the checker is not offered here. */
export function settingsFromReport(r: ReportedSettings, ctx: SettingsContext): ServiceSettings | undefined {
  const checker = ctx.healthChecker(r.healthCheck.type);
  if (!checker) return undefined;
  return {
    strategy: r.strategy,
    strategyOptions: r.strategyOptions,
    sticky: r.sticky,
    count: r.count,
    minReadyMs: r.minReadyMs,
    healthCheck: { ...r.healthCheck, checker },
    failMode: r.failMode,
    ...(r.backend ? { backend: r.backend } : {}),
  };
}
