/** Per-operation retry timing: exponential with jitter, parked for a while after too many attempts. */

export interface BackoffPolicy {
  /** First delay. */
  baseMs: number;
  /** Ceiling of the doubled delay. */
  maxMs: number;
  /** Fraction of the delay drawn at random either way (0.2 = ±20 %), so retries of many services spread out. */
  jitter: number;
  /** After this many consecutive failures the operation is parked instead of retried. */
  parkAfterAttempts: number;
  parkMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
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
export function retryAfterFailure(
  policy: BackoffPolicy,
  attempts: number,
  random: () => number,
): RetryDecision {
  if (attempts >= policy.parkAfterAttempts) return { delayMs: policy.parkMs, parked: true, attempts: 0 };
  const raw = Math.min(policy.baseMs * 2 ** Math.max(0, attempts - 1), policy.maxMs);
  const factor = 1 + policy.jitter * (2 * random() - 1);
  return { delayMs: Math.max(0, Math.round(raw * factor)), parked: false, attempts };
}
