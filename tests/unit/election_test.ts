import assert from "node:assert/strict";
import {
  canAcquire,
  leaseSpecFor,
  microTime,
  observe,
  releasedSpec,
} from "../../core/election/lease_record.ts";
import type { Lease } from "../../core/kube/types.ts";

const lease = (holder: string | null, renewTime: string, seconds = 15, transitions = 0): Lease => ({
  metadata: { name: "l", namespace: "ns" },
  spec: { holderIdentity: holder, renewTime, leaseDurationSeconds: seconds, leaseTransitions: transitions },
});

Deno.test("microTime writes six fractional digits, as the API server's MicroTime requires", () => {
  assert.equal(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), "2024-01-02T03:04:05.678000Z");
});

Deno.test("a holder expires leaseDuration after we first saw its last renewal, by our clock", () => {
  let o = observe(undefined, lease("other", "t1"), 1000);
  assert.equal(canAcquire(o, "me", 15_999), false);
  o = observe(o, lease("other", "t1"), 10_000);
  assert.equal(o.observedAt, 1000, "an unchanged record keeps its first observation time");
  assert.equal(canAcquire(o, "me", 16_000), true);
  o = observe(o, lease("other", "t2"), 12_000);
  assert.equal(canAcquire(o, "me", 16_000), false, "a renewal restarts the wait");
  assert.equal(canAcquire(o, "other", 12_000), true, "the holder may always renew");
  assert.equal(
    canAcquire(observe(o, lease(null, "t3", 1), 12_001), "me", 12_001),
    true,
    "a released lease is free",
  );
});

Deno.test("taking over counts a transition and sets acquireTime; renewing keeps both", () => {
  const t0 = Date.UTC(2024, 0, 1);
  const taken = leaseSpecFor(lease("old", "x", 15, 2).spec, "me", 15_000, t0);
  assert.equal(taken.holderIdentity, "me");
  assert.equal(taken.leaseTransitions, 3);
  assert.equal(taken.acquireTime, microTime(t0));
  const renewed = leaseSpecFor(taken, "me", 15_000, t0 + 2000);
  assert.equal(renewed.leaseTransitions, 3);
  assert.equal(renewed.acquireTime, microTime(t0));
  assert.equal(renewed.renewTime, microTime(t0 + 2000));
  assert.equal(leaseSpecFor(undefined, "me", 15_000, t0).leaseTransitions, 0, "creating is not a transition");
  const released = releasedSpec(renewed, t0 + 3000);
  assert.equal(released.holderIdentity, null);
  assert.equal(released.leaseDurationSeconds, 1);
});
