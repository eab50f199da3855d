/**
 * Where each effective setting of a Service came from: its annotation, the ConfigMap's `defaults:`, or the
 * built-in default. The values are those parseServiceSettings produced; this only attributes them.
 */
import type { ServiceDefaults } from "../config/schema.ts";
import { ANN } from "../leader/annotations.ts";
import type { SettingsResult } from "../leader/service_settings.ts";
import type { Setting, SettingSource } from "./model.ts";

/** `1500` -> "1.5s", `90000` -> "1m30s": Go's duration style, for display. */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s ? `${s}s` : h || m ? "" : "0s"}`;
}

export function describeSettings(
  annotations: Readonly<Record<string, string>>,
  parsed: SettingsResult,
  defaults: ServiceDefaults | undefined,
  serviceType: string | undefined,
  /** The controller's last good settings were given: a refused annotation's field shows that value. */
  lastGoodKnown = false,
): Record<string, Setting> {
  const refused = new Set(parsed.errors.map((e) => e.annotation));
  const s = parsed.settings;
  const one = (annotation: string, value: unknown, fromConfigMap: boolean): Setting => {
    const raw = annotations[annotation];
    const set = raw !== undefined && raw !== "";
    const source: SettingSource = set && !refused.has(annotation)
      ? "annotation"
      : set && lastGoodKnown
      ? "last good value"
      : fromConfigMap
      ? "ConfigMap default"
      : "built-in";
    return { value, source, ...(set && refused.has(annotation) ? { invalidAnnotation: raw } : {}) };
  };
  const health = annotations[ANN.healthCheck];
  return {
    strategy: one(ANN.strategy, s.strategy, defaults?.strategy !== undefined),
    strategyOptions: one(
      ANN.strategyOptions,
      s.strategyOptions ?? {},
      defaults?.strategyOptions?.[s.strategy] !== undefined,
    ),
    sticky: one(ANN.sticky, s.sticky, defaults?.sticky !== undefined),
    leaderCount: one(ANN.leaderCount, s.count, false),
    minReadyDuration: one(ANN.minReadyDuration, goDuration(s.minReadyMs), false),
    healthCheck: one(
      ANN.healthCheck,
      health && !refused.has(ANN.healthCheck) ? health : defaults?.healthCheck ?? s.healthCheck.type,
      defaults?.healthCheck !== undefined,
    ),
    healthFailMode: one(ANN.healthFailMode, s.failMode, false),
    backend: one(
      ANN.backend,
      s.backend ?? null,
      serviceType === "LoadBalancer" && defaults?.backend !== undefined,
    ),
  };
}
