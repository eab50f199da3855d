/** Exponential backoff with jitter, shared by the work queue, the API client's retries and watch restarts. */

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** Upper bound of any delay, jitter included. */
  maxMs: number;
  /** Fraction of the delay added at random (0.2 = up to +20%), so many clients do not retry in lockstep. */
  jitter?: number;
}

/** Random numbers in [0, 1); injected so tests are deterministic. */
export type Random = () => number;

/** The delay before retry number `attempt` (1 = first retry): base * 2^(attempt-1), capped, plus jitter. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: Random = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 52));
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const jittered = capped + capped * (policy.jitter ?? 0.2) * random();
  return Math.min(policy.maxMs, Math.round(jittered));
}
