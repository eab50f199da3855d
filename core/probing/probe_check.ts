/** Probe execution: one checker call, its answer or throw turned into a HealthResult, and the checks' metrics. */
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { HealthResult } from "../plugin/types.ts";
import type { ProbeTarget } from "./probe_entry.ts";

/** The result recorded when a check is due again while the previous one ignored its timeout. */
export const STUCK_REASON = "previous check still running after its timeout";

/** Runs `t`'s check; an invalid result or a throw becomes an unhealthy result saying why. */
export function runCheck(t: ProbeTarget, signal: AbortSignal, deadline: number): Promise<HealthResult> {
  return Promise.resolve()
    .then(() => t.checker.check(t.pod, t.spec, signal, deadline))
    .then(
      (r): HealthResult =>
        isHealthResult(r)
          ? { healthy: r.healthy, reason: String(r.reason ?? "") }
          : { healthy: false, reason: `checker returned an invalid result: ${JSON.stringify(r)}` },
      (e): HealthResult => ({ healthy: false, reason: reasonOf(e) }),
    );
}

/** What a thrown value says about why a check failed. */
function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function isHealthResult(r: unknown): r is HealthResult {
  return typeof r === "object" && r !== null && typeof (r as HealthResult).healthy === "boolean";
}

/** The scheduler's metrics of checks: how many by result, how long each took, how late scheduled ones started. */
export class CheckMetrics {
  private readonly checksTotal;
  private readonly checkDuration;
  private readonly probeLag;

  constructor(metrics: MetricsRegistry) {
    this.checksTotal = metrics.counter({
      name: "zen_lead_health_checks_total",
      help: "Health checks run by the probe scheduler, by checker plugin and result (healthy|unhealthy).",
      labelNames: ["plugin", "result"],
    });
    this.checkDuration = metrics.histogram({
      name: "zen_lead_health_check_duration_seconds",
      help: "Duration of one health check, by checker plugin.",
      labelNames: ["plugin"],
    });
    this.probeLag = metrics.histogram({
      name: "zen_lead_probe_lag_seconds",
      help: "How late a scheduled health check started compared with its due time.",
    });
  }

  /** One recorded result of `plugin`'s check, `ms` after it started. */
  checked(plugin: string, healthy: boolean, ms: number): void {
    this.checksTotal.inc({ plugin, result: healthy ? "healthy" : "unhealthy" });
    this.checkDuration.observe({ plugin }, ms / 1000);
  }

  /** A scheduled check started `lagMs` after its due time. */
  lag(lagMs: number): void {
    this.probeLag.observe(undefined, lagMs / 1000);
  }
}
