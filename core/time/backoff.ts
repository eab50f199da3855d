/**
 * The one exponential backoff: the work queue, the API client's retries, watch restarts, the replica election
 * and the Azure engine's operations and network retries differ only in the parameters they pass.
 */

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** Ceiling of the doubled delay; of the jittered one too unless `jitterAboveMax`. */
  maxMs: number;
  /** Fraction of the delay added at random, at most (0.2 = up to +20%; default 0.2), so retries spread out. */
  jitter?: number;
  /** Fraction of the delay taken off at random, at most (default 0): with `jitter` equal, jitter is ±. */
  jitterBelow?: number;
  /** Whether jitter may lift the delay above `maxMs` (default false). */
  jitterAboveMax?: boolean;
}

/** Random numbers in [0, 1); injected so tests are deterministic. */
export type Random = () => number;

/**
 * The delay before retry number `attempt` (1 = first retry): base * 2^(attempt-1), capped at maxMs, then moved
 * at random between -jitterBelow and +jitter of itself, rounded to a millisecond and never negative.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: Random = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 52));
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const above = policy.jitter ?? 0.2;
  const below = policy.jitterBelow ?? 0;
  const jittered = Math.max(0, Math.round(capped + capped * (above + below) * random() - capped * below));
  return policy.jitterAboveMax ? jittered : Math.min(policy.maxMs, jittered);
}
