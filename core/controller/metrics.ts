/** The controller's `zen_lead_*` metrics (dashboards and alerts depend on the names), registered once. */
import { type MetricsRegistry, SECONDS_BUCKETS } from "../metrics/registry.ts";

export function controllerMetrics(r: MetricsRegistry) {
  const svc = ["namespace", "service"] as const;
  return {
    failovers: r.counter({
      name: "zen_lead_failover_count_total",
      help: "Leader failovers: the routed leader was lost to a failure, by reason.",
      labelNames: [...svc, "reason"],
    }),
    failoverLatency: r.histogram({
      name: "zen_lead_failover_latency_seconds",
      help: "From the observed cause (pod event or failed probe) to the acknowledged EndpointSlice write.",
      labelNames: ["reason"],
      buckets: SECONDS_BUCKETS,
    }),
    leaderChanges: r.counter({
      name: "zen_lead_leader_changes_total",
      help:
        "Leader changes (the primary or a pool member), by reason; initial elections included, failovers a subset.",
      labelNames: ["reason"],
    }),
    selections: r.counter({
      name: "zen_lead_strategy_selections_total",
      help: "Leader selections made by each strategy.",
      labelNames: ["strategy"],
    }),
    reconciliations: r.counter({
      name: "zen_lead_reconciliations_total",
      help:
        "Reconciles by result (success, error, conflict, held while a cache it reads is stale, or skipped when this replica may no longer write).",
      labelNames: ["result"],
    }),
    reconcileDuration: r.histogram({
      name: "zen_lead_reconciliation_duration_seconds",
      help: "Duration of one reconcile.",
      labelNames: [],
    }),
    leaderStable: r.gauge({
      name: "zen_lead_leader_stable",
      help: "1 when the Service has a leader that did not change in the last reconcile, else 0.",
      labelNames: svc,
    }),
    podsAvailable: r.gauge({
      name: "zen_lead_pods_available",
      help: "Pods eligible to lead, per opted-in Service.",
      labelNames: svc,
    }),
    withoutEndpoints: r.gauge({
      name: "zen_lead_leader_service_without_endpoints",
      help: "1 when the leader EndpointSlice routes nowhere (endpoints: []).",
      labelNames: svc,
    }),
    portFailures: r.counter({
      name: "zen_lead_port_resolution_failures_total",
      help: "Service ports whose targetPort could not be resolved on the leader pod (fail-closed).",
      labelNames: [...svc, "type"],
    }),
    stickyHits: r.counter({
      name: "zen_lead_sticky_leader_hits_total",
      help: "Reconciles where the sticky leader was kept.",
      labelNames: [],
    }),
    stickyMisses: r.counter({
      name: "zen_lead_sticky_leader_misses_total",
      help: "Reconciles where a sitting leader could not be kept and another was chosen.",
      labelNames: [],
    }),
    invalidAnnotations: r.counter({
      name: "zen_lead_invalid_annotations_total",
      help: "Invalid zen-lead annotation values seen (routing kept as it was).",
      labelNames: ["annotation"],
    }),
    nameConflicts: r.counter({
      name: "zen_lead_leader_name_conflicts_total",
      help: "Reconciles refused because the leader name belongs to an object zen-lead does not manage.",
      labelNames: [],
    }),
    cacheHits: r.counter({
      name: "zen_lead_cache_hits_total",
      help: "Reconciles that found their Service in the informer cache.",
      labelNames: [],
    }),
    cacheMisses: r.counter({
      name: "zen_lead_cache_misses_total",
      help: "Reconciles whose Service was not in the cache (deleted or not yet seen).",
      labelNames: [],
    }),
    cacheSize: r.gauge({
      name: "zen_lead_cache_size",
      help: "Objects held per informer cache.",
      labelNames: ["resource"],
    }),
    writes: r.counter({
      name: "zen_lead_api_writes_total",
      help: "Writes of managed objects, by kind and verb.",
      labelNames: ["kind", "verb"],
    }),
    replicaActive: r.gauge({
      name: "zen_lead_controller_is_leader",
      help: "1 while this replica is the active (writing) controller.",
      labelNames: [],
    }),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;
