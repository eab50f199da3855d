/** What every part of the engine shares: its configuration, its dependencies and the engine's own controls. */
import type { Logger } from "../../../mod.ts";
import type { GatewayApi } from "../arm/gateway_api.ts";
import type { Clock } from "../../../mod.ts";
import { DEFAULT_BACKOFF, type OperationBackoff } from "./backoff.ts";
import type { EngineMetrics } from "./metrics.ts";

export interface EngineConfig {
  /** Gateway services whose name starts with this belong to the engine; others are never touched. */
  servicePrefix: string;
  /** Service operations in flight at once. */
  maxInFlight: number;
  backoff: OperationBackoff;
  /** After start, how long services found in the gateway wait to be claimed before they count as orphans. */
  orphanGraceMs: number;
  /** Bound on one service operation (all its ARM calls). */
  operationTimeoutMs: number;
  /** Bound on one address locations sync. */
  locationsTimeoutMs: number;
  /** How long close() lets in-flight work finish before aborting it. */
  drainTimeoutMs: number;
  /** Buffered changes per service beyond which the buffer is compacted to its net effect. */
  maxBufferedPerService: number;
  /** Period of the reconciliation with the gateway (lost, leaked, drifted services; addresses); 0: none. */
  reconcileIntervalMs: number;
  /** How soon after a service write with an unknown outcome (no answer, 5xx) the gateway is reconciled. */
  reconcileAfterFailureMs: number;
}

export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  servicePrefix: "zl-",
  maxInFlight: 10,
  backoff: DEFAULT_BACKOFF,
  orphanGraceMs: 60_000,
  operationTimeoutMs: 300_000,
  locationsTimeoutMs: 120_000,
  drainTimeoutMs: 10_000,
  maxBufferedPerService: 1_000,
  reconcileIntervalMs: 300_000,
  reconcileAfterFailureMs: 5_000,
};

export interface EngineContext {
  readonly api: GatewayApi;
  readonly clock: Clock;
  readonly log: Logger;
  readonly m: EngineMetrics;
  readonly random: () => number;
  readonly config: EngineConfig;
  /** Started (the start's listing is done) and not closed: the updaters run only then. */
  running(): boolean;
  /** Schedules one pass of both updaters; many calls in one turn coalesce. */
  kick(): void;
  /** Runs `fn` with a signal that aborts on close or after `ms`. */
  withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}
