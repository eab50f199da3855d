/** The engine's metrics, named as the difftracker seed lists them (no zen_lead_ prefix), plus ARM throttling. */
import type { Counter, Gauge, Histogram, MetricsRegistry } from "../../../mod.ts";
import type { RequestClass, ThrottleObserver } from "../arm/throttle.ts";
import { SERVICE_STATES, type ServiceState } from "./service_state.ts";

export interface EngineMetrics {
  operations: Counter;
  operationDuration: Histogram;
  pending: Gauge;
  bufferedEndpoints: Counter;
  bufferedPods: Counter;
  bufferDuration: Histogram;
  locationsSync: Counter;
  locationsSyncDuration: Histogram;
  addressesSynced: Counter;
  retries: Counter;
  throttled: Counter;
  throttleWait: Histogram;
  parked: Counter;
  reconciles: Counter;
  repairs: Counter;
}

/** not_started, creation_in_progress, ...: the label values of engine_pending_service_operations. */
export function stateLabel(state: ServiceState): string {
  return state.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

export function engineMetrics(registry: MetricsRegistry): EngineMetrics {
  const m: EngineMetrics = {
    operations: registry.counter({
      name: "engine_service_operations_total",
      help: "Service gateway service operations by operation (create, update, delete) and status.",
      labelNames: ["operation", "status"],
    }),
    operationDuration: registry.histogram({
      name: "engine_service_operation_duration_seconds",
      help: "Duration of service gateway service operations.",
      labelNames: ["operation"],
    }),
    pending: registry.gauge({
      name: "engine_pending_service_operations",
      help: "Services tracked by the engine, by state.",
      labelNames: ["state"],
    }),
    bufferedEndpoints: registry.counter({
      name: "engine_buffered_endpoints_total",
      help: "Endpoint changes buffered because their service was not created yet.",
    }),
    bufferedPods: registry.counter({
      name: "engine_buffered_pods_total",
      help: "Pod egress changes buffered because their egress service was not created yet.",
    }),
    bufferDuration: registry.histogram({
      name: "engine_buffer_duration_seconds",
      help: "Time endpoint and pod changes spent buffered before being replayed.",
    }),
    locationsSync: registry.counter({
      name: "engine_locations_sync_total",
      help: "updateAddressLocations calls by status.",
      labelNames: ["status"],
    }),
    locationsSyncDuration: registry.histogram({
      name: "engine_locations_sync_duration_seconds",
      help: "Duration of address location syncs.",
    }),
    addressesSynced: registry.counter({
      name: "engine_location_addresses_synced",
      help: "Addresses written to the gateway, by action (add, remove, update).",
      labelNames: ["action"],
    }),
    retries: registry.counter({
      name: "engine_operation_retries_total",
      help: "Operations retried after a failure, by operation.",
      labelNames: ["operation"],
    }),
    throttled: registry.counter({
      name: "engine_arm_throttled_total",
      help: "ARM answers 429 (throttled), by request class (read, write).",
      labelNames: ["class"],
    }),
    throttleWait: registry.histogram({
      name: "engine_arm_throttle_wait_seconds",
      help: "Time ARM requests waited at the throttling gate, by request class.",
      labelNames: ["class"],
    }),
    parked: registry.counter({
      name: "engine_operations_parked_total",
      help: "Service operations parked for backoff.parkMs, by operation and reason (rejected: a 400/422; " +
        "attempts: parkAfterAttempts failures in a row).",
      labelNames: ["operation", "reason"],
    }),
    reconciles: registry.counter({
      name: "engine_reconcile_total",
      help:
        "Reconciliations with the gateway (periodic and after writes with an unknown outcome), by status.",
      labelNames: ["status"],
    }),
    repairs: registry.counter({
      name: "engine_reconcile_repairs_total",
      help: "Divergences the reconciliation repaired, by kind (lost, drifted, leaked).",
      labelNames: ["kind"],
    }),
  };
  for (const s of SERVICE_STATES) m.pending.set({ state: stateLabel(s) }, 0);
  return m;
}

export function throttleObserver(m: EngineMetrics): ThrottleObserver {
  return {
    throttled: (cls: RequestClass) => m.throttled.inc({ class: cls }),
    waited: (cls: RequestClass, ms: number) => m.throttleWait.observe({ class: cls }, ms / 1000),
  };
}
