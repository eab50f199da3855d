/** `zen-lead.io/health-fail-mode`: what an undecided health verdict means for leader eligibility. */

export type HealthFailMode = "open" | "closed";

export const HEALTH_FAIL_MODES: readonly HealthFailMode[] = ["open", "closed"];

/**
 * Whether a pod counts as healthy for routing. A decided verdict is used as is; an undecided one (never probed,
 * or not enough results yet) counts as healthy when failing open (Ready is trusted until a probe says
 * otherwise) and unhealthy when failing closed (no traffic without a passing probe).
 *
 * @example
 * ```ts
 * import { applyFailMode } from "./fail_mode.ts";
 * console.assert(applyFailMode(undefined, "open") === true);
 * console.assert(applyFailMode(undefined, "closed") === false);
 * console.assert(applyFailMode(false, "open") === false);
 * ```
 */
export function applyFailMode(healthy: boolean | undefined, mode: HealthFailMode): boolean {
  return healthy ?? mode === "open";
}
