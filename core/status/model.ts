/** The controller's status document (`/status`): probe results, recent leader changes and each Service's state. */
import type { ProbeSchedule } from "../probing/spec.ts";

/**
 * The controller's status document (`GET /status` on the metrics address, and `/api/status` of the status page):
 * probe results and recent leader changes per Service, which only the live controller knows.
 */

export interface ProbeReport {
  podUID: string;
  pod: string;
  healthy: boolean | null;
  reason?: string;
  /** RFC 3339. */
  lastCheckedAt?: string;
}

export interface LeaderChange {
  /** `namespace/name` of the source Service. */
  service: string;
  /** RFC 3339: when the EndpointSlice write that moved routing was acknowledged. */
  at: string;
  from?: string;
  to?: string;
  reason: string;
  /** Counted as a failover (the previous leader was lost to a failure). */
  failover: boolean;
  /** From the observed cause (pod event) to the acknowledged write, as zen_lead_failover_latency_seconds. */
  latencyMs?: number;
}

/** The settings the controller last decided with, in plain data (the health checker by name). */
export interface ReportedSettings {
  strategy: string;
  strategyOptions: unknown;
  sticky: boolean;
  count: number;
  minReadyMs: number;
  healthCheck: { type: string; spec: unknown; schedule: ProbeSchedule };
  failMode: "open" | "closed";
  backend?: string;
}

export interface ServiceStatus {
  namespace: string;
  name: string;
  /** Absent until the Service was reconciled by this replica. */
  settings?: ReportedSettings;
  probes: ProbeReport[];
  changes: LeaderChange[];
}

export interface ControllerStatus {
  identity: string;
  /** This replica holds the Lease (standbys have no probe results). */
  active: boolean;
  generatedAt: string;
  services: ServiceStatus[];
}
