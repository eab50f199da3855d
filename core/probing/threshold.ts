/**
 * The thresholded health of one probed pod: a pure function of the previous state and one check result, so
 * leadership follows sustained failure or recovery, never a single blip.
 */
import type { HealthResult } from "../plugin/types.ts";

export type ProbeRole = "leader" | "candidate";

export interface Thresholds {
  /** Consecutive failures that turn a healthy (or presumed healthy) pod unhealthy. */
  failureThreshold: number;
  /** Consecutive successes that turn an unhealthy (or presumed unhealthy) pod healthy. */
  successThreshold: number;
}

export interface ProbeState {
  /** The thresholded verdict; `undefined` until enough results decide it. */
  healthy: boolean | undefined;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastReason: string | undefined;
  /** Epoch milliseconds of the last result. */
  lastCheckedAt: number | undefined;
}

export const UNPROBED: ProbeState = Object.freeze({
  healthy: undefined,
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  lastReason: undefined,
  lastCheckedAt: undefined,
});

/**
 * The state after one result. A pod not yet decided is presumed by its role: a leader was elected Ready, so
 * one success confirms it and only `failureThreshold` failures condemn it; a candidate must earn leadership,
 * so one failure rules it out and only `successThreshold` successes clear it. Once decided, both directions
 * need their full threshold, which is what keeps a flapping pod from making leadership flap.
 *
 * @example
 * ```ts
 * import { recordResult, UNPROBED } from "./threshold.ts";
 * const t = { failureThreshold: 3, successThreshold: 1 };
 * const s = recordResult(UNPROBED, { healthy: false, reason: "HTTP 500" }, 1000, "leader", t);
 * console.assert(s.healthy === undefined && s.consecutiveFailures === 1);
 * ```
 */
export function recordResult(
  prev: ProbeState,
  result: HealthResult,
  at: number,
  role: ProbeRole,
  t: Thresholds,
): ProbeState {
  const consecutiveFailures = result.healthy ? 0 : prev.consecutiveFailures + 1;
  const consecutiveSuccesses = result.healthy ? prev.consecutiveSuccesses + 1 : 0;
  let healthy = prev.healthy;
  if (healthy === undefined) {
    const successesNeeded = role === "leader" ? 1 : t.successThreshold;
    const failuresNeeded = role === "leader" ? t.failureThreshold : 1;
    if (consecutiveSuccesses >= successesNeeded) healthy = true;
    else if (consecutiveFailures >= failuresNeeded) healthy = false;
  } else if (healthy && consecutiveFailures >= t.failureThreshold) {
    healthy = false;
  } else if (!healthy && consecutiveSuccesses >= t.successThreshold) {
    healthy = true;
  }
  return { healthy, consecutiveFailures, consecutiveSuccesses, lastReason: result.reason, lastCheckedAt: at };
}
