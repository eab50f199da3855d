/**
 * What `zen-lead explain` reports about one Service. The JSON form is published as
 * `schemas/explain.schema.json` (apiVersion below); text and YAML render the same object.
 */

export const EXPLAIN_API_VERSION = "zen-lead.io/explain/v1";

/** Where an effective setting came from. */
export type SettingSource = "annotation" | "ConfigMap default" | "built-in" | "last good value";

export interface Setting {
  /** The effective value as the controller uses it (durations as Go strings, options as objects). */
  value: unknown;
  source: SettingSource;
  /** The annotation's value when it was refused; the controller then keeps its last good value. */
  invalidAnnotation?: string;
}

export interface CandidateExplanation {
  pod: string;
  uid: string;
  phase: string;
  ready: boolean;
  /** RFC 3339: when the Ready condition last turned True. */
  readySince?: string;
  ip?: string;
  terminating: boolean;
  node?: { name: string; ready: boolean | "Unknown" | "not visible"; unschedulable?: boolean; zone?: string };
  minReady?: { qualifiesAt: string; qualified: boolean };
  priority: { value: number; error?: string };
  health: {
    state: "healthy" | "unhealthy" | "unknown" | "not checked";
    reason?: string;
    lastCheckedAt?: string;
  };
  /** Running, Ready, with an IP, not terminating and past min-ready: may lead before health checks. */
  eligible: boolean;
  /** Order of preference (1 is best): priority first, then the strategy's order, before stickiness. */
  rank?: number;
  /** Position in the strategy's own ranking; absent when the strategy did not rank the pod. */
  strategyRank?: number;
  leadsNow: boolean;
  wouldLead: boolean;
  /** One sentence: why this pod does or does not lead. */
  verdict: string;
}

export interface Warning {
  kind: string;
  message: string;
}

export interface Explanation {
  apiVersion: typeof EXPLAIN_API_VERSION;
  generatedAt: string;
  service: {
    namespace: string;
    name: string;
    uid?: string;
    optedIn: boolean;
    selector: Record<string, string>;
  };
  leaderService: string;
  configuration: string;
  settings: Record<string, Setting>;
  candidates: CandidateExplanation[];
  currentLeaders: string[];
  decision: {
    /** The pods the controller chooses, primary first. */
    leaders: string[];
    /** The pods its EndpointSlice routes to: the leaders, minus any whose ports cannot be served (fail-closed). */
    routes: string[];
    keepsCurrent: boolean;
    reason?: string;
    failover?: string;
    /** RFC 3339: when a pod waiting out min-ready qualifies and the controller decides again. */
    requeueAt?: string;
  };
  ports: { name?: string; port: number; targetPort?: number; error?: string }[];
  healthSource: { reachable: boolean; message: string };
  warnings: Warning[];
}
