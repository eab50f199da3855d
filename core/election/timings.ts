/** The three Lease timings and the rule that makes election safe: retryPeriod < renewDeadline < leaseDuration. */

export interface LeaseTimings {
  /** How long a standby waits after the holder's last renewal it saw before it may take over. */
  leaseDurationMs: number;
  /** How long the leader keeps leading (and writing) without a successful renewal. */
  renewDeadlineMs: number;
  /** Pause between renewals, and between a standby's tries. */
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMINGS: Readonly<LeaseTimings> = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** A message naming what is wrong, or undefined when the timings are valid. */
export function leaseTimingsProblem(t: LeaseTimings): string | undefined {
  const { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = t;
  if (![lease, renew, retry].every((v) => Number.isFinite(v) && v > 0)) {
    return `expected positive durations, received lease ${lease}ms, renew deadline ${renew}ms, retry ${retry}ms`;
  }
  if (!(retry < renew && renew < lease)) {
    return `expected retry-period < renew-deadline < lease-duration, received ${retry}ms, ${renew}ms, ${lease}ms`;
  }
  // The Lease records whole seconds: a sub-second lease would be written as a longer one than we wait.
  if (lease % 1000 !== 0) return `expected lease-duration in whole seconds, received ${lease}ms`;
  return undefined;
}

export function validateLeaseTimings(t: LeaseTimings, where: string): void {
  const problem = leaseTimingsProblem(t);
  if (problem) throw new RangeError(`${where}: ${problem}`);
}
