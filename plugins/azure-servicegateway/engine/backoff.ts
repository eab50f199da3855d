/** Per-operation retry timing: the shared exponential backoff with ±jitter, parked after too many attempts. */
import { backoffDelay, type Random } from "../../../mod.ts";

export interface OperationBackoff {
  /** First delay. */
  baseMs: number;
  /** Ceiling of the doubled delay (jitter may go above it). */
  maxMs: number;
  /** Fraction of the delay drawn at random either way (0.2 = ±20 %), so retries of many services spread out. */
  jitter: number;
  /** After this many consecutive failures the operation is parked instead of retried. */
  parkAfterAttempts: number;
  parkMs: number;
}

export const DEFAULT_BACKOFF: OperationBackoff = {
  baseMs: 1_000,
  maxMs: 30_000,
  jitter: 0.2,
  parkAfterAttempts: 12,
  parkMs: 5 * 60_000,
};

export interface RetryDecision {
  delayMs: number;
  parked: boolean;
  /** The attempt counter to keep: parking starts a fresh series afterwards. */
  attempts: number;
}

/** The wait after the `attempts`-th consecutive failure; `random` returns [0, 1). */
export function retryAfterFailure(policy: OperationBackoff, attempts: number, random: Random): RetryDecision {
  if (attempts >= policy.parkAfterAttempts) return { delayMs: policy.parkMs, parked: true, attempts: 0 };
  const { baseMs, maxMs, jitter } = policy;
  const delayMs = backoffDelay(
    attempts,
    { baseMs, maxMs, jitter, jitterBelow: jitter, jitterAboveMax: true },
    random,
  );
  return { delayMs, parked: false, attempts };
}
