/** Pure rules of Lease-based election: times on the wire, expiry as seen by a candidate, the record to write. */
import type { Lease } from "../kube/types.ts";

/** A Lease's MicroTime: RFC 3339 with exactly six fractional digits (the API server rejects three). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** What a candidate last saw of the Lease and when, by its own clock (clocks of other hosts are not trusted). */
export interface Observation {
  holder: string;
  renewTime: string;
  durationMs: number;
  observedAt: number;
}

export function observe(previous: Observation | undefined, lease: Lease, now: number): Observation {
  const holder = lease.spec?.holderIdentity ?? "";
  const renewTime = lease.spec?.renewTime ?? "";
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  // Unchanged record: keep the first time we saw it, so a dead holder expires leaseDuration after its last renew.
  if (previous && previous.holder === holder && previous.renewTime === renewTime) return previous;
  return { holder, renewTime, durationMs, observedAt: now };
}

/** Whether `identity` may take the lease now: it is free, already ours, or its holder stopped renewing. */
export function canAcquire(o: Observation, identity: string, now: number): boolean {
  return o.holder === "" || o.holder === identity || now >= o.observedAt + o.durationMs;
}

/** The spec to write to take or renew the lease. */
export function leaseSpecFor(
  current: Lease["spec"] | undefined,
  identity: string,
  leaseDurationMs: number,
  now: number,
): NonNullable<Lease["spec"]> {
  const takingOver = (current?.holderIdentity ?? "") !== identity;
  return {
    ...current,
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
    renewTime: microTime(now),
    acquireTime: takingOver ? microTime(now) : current?.acquireTime ?? microTime(now),
    leaseTransitions: (current?.leaseTransitions ?? 0) + (takingOver && current?.holderIdentity ? 1 : 0),
  };
}

/** The spec that hands the lease back on graceful shutdown: no holder, 1 s duration, so a standby takes it now. */
export function releasedSpec(current: Lease["spec"] | undefined, now: number): NonNullable<Lease["spec"]> {
  return { ...current, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(now) };
}
