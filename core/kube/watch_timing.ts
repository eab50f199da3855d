/**
 * How long a watch may be silent before it counts as stalled, and the server-side timeout each watch asks for so
 * that a healthy idle watch is never silent that long. Pure functions over the lease timings.
 *
 * Why it works: a watch opened with `timeoutSeconds=T` is ended cleanly by kube-apiserver at T (measured: T +
 * 0-50 ms), so a healthy watch is never silent longer than T, idle or not; asking for T below the stall bound
 * means only a dead connection stays silent that long. With `allowWatchBookmarks` the watch cache also sends a
 * bookmark about 2 s before the deadline (cache_watcher.go `nextBookmarkTime`; measured T-2.3 to T-1.5 s)
 * whenever its resourceVersion moved past the watch's own (changes elsewhere in the resource), so the reopen
 * resumes from a current resourceVersion and is served from the watch cache without a relist; when nothing
 * moved there is no bookmark, and the watch's own resourceVersion is still current.
 */
import type { Random } from "../time/backoff.ts";
import type { LeaseTimings } from "../election/timings.ts";

/** The shortest stall bound: a watch must ask for timeoutSeconds >= 3 to get a bookmark before its deadline. */
export const MIN_STALL_TIMEOUT_MS = 4_000;

/** Room between the longest timeoutSeconds asked for and the stall bound (the reopen's round trip). */
const MARGIN_S = 1;

/**
 * The default stall bound: the renew deadline minus one retry period (8 s with the default 10 s / 2 s), so a
 * stalled watch is noticed and reopened before the leader's renew deadline; never below MIN_STALL_TIMEOUT_MS.
 */
export function defaultStallTimeoutMs(t: Pick<LeaseTimings, "renewDeadlineMs" | "retryPeriodMs">): number {
  return Math.max(MIN_STALL_TIMEOUT_MS, t.renewDeadlineMs - t.retryPeriodMs);
}

/**
 * The `timeoutSeconds` of one watch: drawn from [max(3, ⌈S/2⌉), S - 1] whole seconds for a stall bound of S, so
 * watches opened together do not all reopen together, and each ends (cleanly) before it could look stalled.
 */
export function watchTimeoutSeconds(stallTimeoutMs: number, random: Random = Math.random): number {
  const { min, max } = watchTimeoutRange(stallTimeoutMs);
  return min + Math.floor(random() * (max - min + 1));
}

/** The whole-second range watchTimeoutSeconds draws from (README's cost figures come from its mean). */
export function watchTimeoutRange(stallTimeoutMs: number): { min: number; max: number } {
  const max = Math.max(3, Math.floor(stallTimeoutMs / 1000) - MARGIN_S);
  const min = Math.min(max, Math.max(3, Math.ceil(stallTimeoutMs / 2000)));
  return { min, max };
}

/**
 * A message naming what is wrong with `--watch-stall-timeout`, or undefined. Below 4 s no bookmark can arrive
 * before a watch's deadline; above the lease duration a replica could act on a dead watch's cache for longer
 * than a standby waits to replace a crashed one.
 */
export function stallTimeoutProblem(
  stallTimeoutMs: number,
  t: Pick<LeaseTimings, "leaseDurationMs">,
): string | undefined {
  if (stallTimeoutMs >= MIN_STALL_TIMEOUT_MS && stallTimeoutMs <= t.leaseDurationMs) return undefined;
  return `expected a duration from ${MIN_STALL_TIMEOUT_MS / 1000}s to the lease duration ` +
    `(--leader-elect-lease-duration, ${t.leaseDurationMs / 1000}s), received ${stallTimeoutMs / 1000}s`;
}

/** Reopens per second of one idle watch with stall bound S: one per mean timeoutSeconds. */
export function reopensPerSecond(stallTimeoutMs: number): number {
  const { min, max } = watchTimeoutRange(stallTimeoutMs);
  return 1 / ((min + max) / 2);
}
