/**
 * The reconcile trace: one root span per reconcile of a Service, starting when the change that triggered it was
 * observed (so a failover's trace runs from the pod event to the acknowledged EndpointSlice write), and the
 * decision span under it.
 */
import { context, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import type { Decision } from "../leader/decide.ts";
import { defined, ending, KEEP_ATTRIBUTE, tracer, tracingState } from "./spans.ts";

export interface TriggerView {
  at: number;
  cause: string;
}

/** Runs one reconcile in its root span; an error ends it with an error status (errors are always kept). */
export async function traceReconcile<T>(
  key: string,
  reconcileID: string,
  trigger: TriggerView | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracingState.on) return await fn();
  const now = Date.now();
  const slash = key.indexOf("/");
  const span = tracer.startSpan(`reconcile ${key}`, {
    root: true,
    // Back-dated to the watch event: the queue wait is part of what a failover costs.
    startTime: trigger ? Math.min(trigger.at, now) : now,
    attributes: defined({
      "k8s.namespace.name": key.slice(0, slash),
      "k8s.service.name": key.slice(slash + 1),
      "zen_lead.reconcile_id": reconcileID,
      "zen_lead.trigger.kind": trigger?.cause ?? "resync",
      "zen_lead.trigger.observed_time": trigger ? new Date(trigger.at).toISOString() : undefined,
      "zen_lead.queue_wait_ms": trigger ? now - trigger.at : undefined,
    }),
  }, ROOT_CONTEXT);
  if (!span.isRecording()) return await fn();
  if (trigger) span.addEvent("watch event observed", { "zen_lead.trigger.kind": trigger.cause }, trigger.at);
  span.addEvent("reconcile started", undefined, now);
  return await ending(span, () => context.with(trace.setSpan(ROOT_CONTEXT, span), fn));
}

/** Records a finished decision as a span under the reconcile, and marks a failover's trace to be kept. */
export function traceDecision(
  strategy: string,
  candidates: number,
  decision: Decision,
  started: number,
  probedOnDemand: number,
): void {
  if (!tracingState.on) return;
  const active = trace.getActiveSpan();
  if (!active?.isRecording()) return;
  if (decision.failover) {
    active.setAttribute(KEEP_ATTRIBUTE, true);
    active.setAttribute("zen_lead.failover.reason", decision.failover);
  }
  const span = tracer.startSpan("decide", {
    startTime: started,
    attributes: defined({
      "zen_lead.strategy": strategy,
      "zen_lead.candidates": candidates,
      "zen_lead.eligible": decision.eligibleCount,
      "zen_lead.leader": decision.leaders[0]?.metadata.name,
      "zen_lead.leaders": decision.leaders.map((p) => p.metadata.name).join(","),
      "zen_lead.decision.reason": decision.reason ?? "kept",
      "zen_lead.decision.ranked": decision.ranked.slice(0, 10).join(","),
      "zen_lead.failover": decision.failover !== undefined,
      "zen_lead.failover.reason": decision.failover,
      "zen_lead.probed_on_demand": probedOnDemand,
      "zen_lead.none_eligible": decision.noneEligible,
      "zen_lead.all_unhealthy": decision.allUnhealthy,
    }),
  });
  span.end();
}
