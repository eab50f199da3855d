/** What a reconcile reports once routing moved, pure: metrics, Events, the failover log line, the history entry. */
import { ANN } from "../leader/annotations.ts";
import { podIPs } from "../leader/pods.ts";
import type { Emission, MetricOp, PlannedEvent } from "./emission.ts";
import type { RoutePlan } from "./plan.ts";

/** What the routing write did. */
export interface RoutingOutcome {
  /** False when the slice already said what was decided (nothing written). */
  sliceWritten: boolean;
  /** Endpoints the slice routes to. */
  routed: number;
  /** When the write was acknowledged (epoch ms). */
  wroteAt: number;
  /** The probe's last failure reason for the old leader, when it failed over as unhealthy. */
  failedReason?: string;
}

/** The Event for a leader Service this reconcile created. */
export function leaderServiceCreated(plan: RoutePlan): PlannedEvent {
  const { namespace, name, leaderName } = plan.snapshot;
  return {
    type: "Normal",
    reason: "LeaderServiceCreated",
    message: `created leader Service ${namespace}/${leaderName} for Service ${name}`,
  };
}

/**
 * Routing moved with the slice write: metrics and Events say so at once, before the Service update that follows
 * (a failure there is retried, and the retry, seeing the new leader routed, would not count it).
 */
export function reportRouting(plan: RoutePlan, out: RoutingOutcome): Emission {
  const { decision, snapshot: s, target } = plan;
  const { settings, currentLeaders: previous, trigger } = s;
  const labels = { namespace: s.namespace, service: s.name };
  const primary = decision.leaders[0];
  const latencyMs = trigger ? out.wroteAt - trigger.at : undefined;
  const metrics: MetricOp[] = [
    { set: "podsAvailable", labels, value: decision.eligibleCount },
    { set: "withoutEndpoints", labels, value: out.routed === 0 ? 1 : 0 },
    { set: "leaderStable", labels, value: primary && !decision.primaryChanged ? 1 : 0 },
  ];
  if (settings.sticky && previous.length > 0) {
    metrics.push({ inc: primary && previous[0] === primary.metadata.uid ? "stickyHits" : "stickyMisses" });
  }
  if (decision.reason) metrics.push({ inc: "leaderChanges", labels: { reason: decision.reason } });
  if (decision.primaryChanged && primary) {
    metrics.push({ inc: "selections", labels: { strategy: settings.strategy } });
  }
  if (decision.failover) {
    metrics.push({ inc: "failovers", labels: { ...labels, reason: decision.failover } });
    if (out.sliceWritten && latencyMs !== undefined) {
      metrics.push({
        observe: "failoverLatency",
        labels: { reason: decision.failover },
        value: latencyMs / 1000,
      });
    }
  }

  const events: PlannedEvent[] = [];
  if (decision.primaryChanged && primary && previous.length > 0) {
    const failedCheck = failedCheckOf(plan, out.failedReason);
    events.push({
      type: "Normal",
      reason: "LeaderChanged",
      message: `leader of ${target.name} is now pod ${primary.metadata.name} (${
        podIPs(primary)[0]
      }); reason: ${decision.reason}${failedCheck ? ` (${failedCheck})` : ""}`,
    });
  }
  // Routing became available (again): the first leader, or one after a spell of endpoints: [].
  if (out.routed > 0 && out.sliceWritten && previous.length === 0) {
    events.push({
      type: "Normal",
      reason: "LeaderRoutingAvailable",
      message: `leader Service routes to pod ${primary?.metadata.name}`,
    });
  }
  if (decision.noPods) {
    events.push({
      type: "Warning",
      reason: "NoPodsFound",
      message: `no pods match the selector of Service ${s.name}`,
    });
  } else if (decision.leaders.length === 0 && decision.noneEligible && decision.warmingCount > 0) {
    // Not "no pod is Ready": they are, and wait out min-ready-duration. Say when the first qualifies.
    const n = decision.warmingCount;
    events.push({
      type: "Warning",
      reason: "NoReadyPods",
      message: `${n} pod${n === 1 ? " is" : "s are"} Ready and qualif${n === 1 ? "ies" : "y"} at ${
        new Date(decision.requeueAt ?? out.wroteAt).toISOString()
      } (${ANN.minReadyDuration} ${settings.minReadyMs / 1000}s); no leader for Service ${s.name} until then`,
    });
  } else if (decision.leaders.length === 0) {
    const why = decision.allUnhealthy
      ? `every candidate failed its health check (fail-mode ${settings.failMode})`
      : decision.noneEligible
      ? "none of the selected pods is Running, Ready, with an IP and not terminating"
      : "no pod qualifies yet";
    events.push({
      type: "Warning",
      reason: "NoReadyPods",
      message: `no leader for Service ${s.name}: ${why}`,
    });
  }

  const logs: Emission["logs"] = [];
  if (decision.failover) {
    logs.push({
      message: "failover",
      fields: {
        namespace: s.namespace,
        service: s.name,
        reason: decision.failover,
        pod: primary?.metadata.name,
        latencyMs,
      },
    });
  }

  const change = decision.reason && out.sliceWritten
    ? {
      service: s.key,
      at: new Date(out.wroteAt).toISOString(),
      from: s.pods.find((p) => p.metadata.uid === previous[0])?.metadata.name ?? previous[0],
      to: primary?.metadata.name,
      reason: decision.reason,
      failover: decision.failover !== undefined,
      latencyMs,
    }
    : undefined;
  return { metrics, events, logs, change };
}

/** Names the check that failed the old leader over, for LeaderChanged: "http check of pod a failed: HTTP 500". */
function failedCheckOf(plan: RoutePlan, why: string | undefined): string | undefined {
  const uid = plan.snapshot.currentLeaders[0];
  if (plan.decision.failover !== "unhealthy" || !uid) return undefined;
  const name = plan.snapshot.pods.find((p) => p.metadata.uid === uid)?.metadata.name ?? uid;
  return `${plan.snapshot.settings.healthCheck.type} check of pod ${name} failed${why ? `: ${why}` : ""}`;
}
