/** Pure parts of the azure-servicegateway backend: the state machine, backoff, the locations differ. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_BACKOFF, retryAfterFailure } from "../../plugins/azure-servicegateway/engine/backoff.ts";
import {
  adoptedRecord,
  begin,
  desire,
  drifted,
  fail,
  isDisposable,
  lost,
  newRecord,
  nextAction,
  type ServiceRecord,
  succeed,
} from "../../plugins/azure-servicegateway/engine/service_state.ts";
import {
  applyLocationsRequest,
  desiredLocations,
  diffLocations,
  type LocationMap,
  locationMapJson,
  referencesTo,
} from "../../plugins/azure-servicegateway/engine/locations.ts";
import { applyChanges, membershipChanges } from "../../plugins/azure-servicegateway/engine/membership.ts";

const T0 = 1_000_000;
const noRefs = { now: T0, azureReferences: 0 };
const half = () => 0.5;

function created(): ServiceRecord {
  const r = begin(desire(newRecord("zl-a", "inbound", T0), true, true, T0), "create", 1, T0);
  return succeed(r, 1, { frontendIP: "20.0.0.1" }, T0).record!;
}

Deno.test("state: a wanted service is created, then deleted once nothing references it", () => {
  let r = desire(newRecord("zl-a", "inbound", T0), true, true, T0);
  assert.equal(nextAction(r, noRefs), "create");
  r = begin(r, "create", 1, T0);
  assert.equal(r.state, "CreationInProgress");
  assert.equal(nextAction(r, noRefs), undefined, "one operation at a time");
  r = succeed(r, 1, { frontendIP: "20.0.0.1" }, T0).record!;
  assert.equal(r.state, "Created");
  assert.equal(r.frontendIP, "20.0.0.1");
  r = desire(r, false, false, T0);
  assert.equal(r.state, "DeletionPending");
  assert.equal(nextAction(r, { now: T0, azureReferences: 2 }), undefined, "waits for its addresses to go");
  assert.equal(nextAction(r, noRefs), "delete");
  r = begin(r, "delete", 2, T0);
  assert.equal(r.state, "DeletionInProgress");
  assert.equal(succeed(r, 2, {}, T0).record, undefined);
});

Deno.test("state: delete during create goes the deletion way once the create completes", () => {
  let r = begin(desire(newRecord("zl-a", "inbound", T0), true, true, T0), "create", 7, T0);
  r = desire(r, false, false, T0);
  assert.equal(r.state, "CreationInProgress", "the running create is not interrupted");
  r = succeed(r, 7, { frontendIP: "20.0.0.9" }, T0).record!;
  assert.equal(r.state, "DeletionPending");
  assert.equal(nextAction(r, noRefs), "delete");
});

Deno.test("state: a delete that raced a re-add ends in NotStarted and creates again", () => {
  let r = begin(desire(created(), false, false, T0), "delete", 3, T0);
  r = desire(r, true, false, T0);
  r = succeed(r, 3, {}, T0).record!;
  assert.equal(r.state, "NotStarted");
  assert.equal(r.mayExist, false);
  assert.equal(nextAction(r, noRefs), "create");
});

Deno.test("state: a completion with another generation token changes nothing", () => {
  const r = begin(desire(newRecord("zl-a", "inbound", T0), true, true, T0), "create", 5, T0);
  const c = succeed(r, 4, { frontendIP: "1.1.1.1" }, T0);
  assert.equal(c.stale, true);
  assert.deepEqual(c.record, r);
  assert.equal(fail(r, 4, { message: "x", terminal: false }, T0, DEFAULT_BACKOFF, half).stale, true);
});

Deno.test("state: a failed create (e.g. Failed on an HTTP 200 poll) backs off and is not Created", () => {
  let r = begin(desire(newRecord("zl-a", "inbound", T0), true, true, T0), "create", 1, T0);
  const c = fail(
    r,
    1,
    { message: "status 200, code InternalServerError", terminal: false },
    T0,
    DEFAULT_BACKOFF,
    half,
  );
  r = c.record!;
  assert.equal(r.state, "NotStarted");
  assert.equal(r.mayExist, true, "a partial create may have left resources");
  assert.equal(r.notBefore, T0 + 1000);
  assert.equal(nextAction(r, noRefs), undefined);
  assert.equal(nextAction(r, { now: T0 + 1000, azureReferences: 0 }), "create");
  // Unwanted now: the partial resources are cleaned up through DeletionPending, not forgotten.
  const gone = desire(r, false, false, T0);
  assert.equal(gone.state, "DeletionPending");
  assert.equal(isDisposable(gone), false);
});

Deno.test("state: wanted again while deletion is pending: kept if registered, else created anew", () => {
  assert.equal(desire(desire(created(), false, false, T0), true, false, T0).state, "Created");
  let r = begin(desire(newRecord("zl-a", "outbound", T0), true, true, T0), "create", 1, T0);
  r = fail(r, 1, { message: "Failed on poll", terminal: false }, T0, DEFAULT_BACKOFF, half).record!;
  r = desire(r, false, false, T0);
  assert.equal(r.state, "DeletionPending");
  r = desire(r, true, false, T0);
  assert.equal(r.state, "NotStarted", "never registered: it must not count as Created");
  assert.equal(nextAction(r, noRefs), "create");
});

Deno.test("state: 400/422 park the step for parkMs (not lost); a changed spec tries again at once", () => {
  let r = begin(desire(newRecord("zl-a", "inbound", T0), true, true, T0), "create", 1, T0);
  const c = fail(r, 1, { message: "bad ports", terminal: true }, T0, DEFAULT_BACKOFF, half);
  r = c.record!;
  assert.equal(c.parked, true);
  assert.equal(r.terminalError, "bad ports");
  assert.equal(r.parked, true);
  assert.equal(nextAction(r, { now: T0 + DEFAULT_BACKOFF.parkMs - 1, azureReferences: 0 }), undefined);
  assert.equal(nextAction(r, { now: T0 + DEFAULT_BACKOFF.parkMs, azureReferences: 0 }), "create");
  assert.equal(desire(r, true, false, T0).terminalError, "bad ports", "the same wish does not retry early");
  r = desire(r, true, true, T0);
  assert.equal(nextAction(r, noRefs), "create");
});

Deno.test("state: a 400 on a delete step parks it; it is retried, never dropped", () => {
  let r = begin(desire(created(), false, false, T0), "delete", 2, T0);
  r = fail(r, 2, { message: "refused", terminal: true }, T0, DEFAULT_BACKOFF, half).record!;
  assert.equal(r.state, "DeletionPending");
  assert.equal(isDisposable(r), false);
  assert.equal(nextAction(r, { now: T0 + DEFAULT_BACKOFF.parkMs, azureReferences: 0 }), "delete");
});

Deno.test("state: no delete while the gateway's addresses are uncertain", () => {
  const r = desire(created(), false, false, T0);
  assert.equal(nextAction(r, { ...noRefs, addressesUncertain: true }), undefined);
  assert.equal(nextAction(r, { ...noRefs, addressesUncertain: false }), "delete");
});

Deno.test("state: a lost service is registered again; a drifted one is updated; both keep their wish", () => {
  const l = lost(created(), T0);
  assert.equal(l.state, "NotStarted");
  assert.equal(l.registered, false);
  assert.equal(nextAction(l, noRefs), "create");
  const d = drifted(created());
  assert.equal(d.state, "Created");
  assert.equal(nextAction(d, noRefs), "update");
});

Deno.test("state: a spec change on a created service asks for an update; adopted services re-apply", () => {
  let r = desire(created(), true, true, T0);
  assert.equal(nextAction(r, noRefs), "update");
  r = begin(r, "update", 9, T0);
  r = desire(r, true, true, T0); // changed again while updating
  r = succeed(r, 9, {}, T0).record!;
  assert.equal(r.state, "Created");
  assert.equal(nextAction(r, noRefs), "update", "the newer spec still needs applying");
  const adopted = adoptedRecord("zl-b", "inbound", T0);
  assert.equal(nextAction(adopted, noRefs), undefined, "unclaimed: left alone");
  assert.equal(nextAction(desire(adopted, true, false, T0), noRefs), "update");
  assert.equal(desire(adopted, false, false, T0).state, "DeletionPending");
});

Deno.test("backoff: 1 s doubling to 30 s with ±20 % jitter, parked for 5 min after 12 attempts", () => {
  const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => retryAfterFailure(DEFAULT_BACKOFF, n, half).delayMs);
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.equal(retryAfterFailure(DEFAULT_BACKOFF, 1, () => 0).delayMs, 800);
  assert.equal(retryAfterFailure(DEFAULT_BACKOFF, 6, () => 0.999999).delayMs, 36000);
  assert.deepEqual(retryAfterFailure(DEFAULT_BACKOFF, 12, half), {
    delayMs: 300_000,
    parked: true,
    attempts: 0,
  });
  let r = desire(newRecord("zl-a", "inbound", T0), true, true, T0);
  for (let i = 1; i <= 12; i++) {
    r = begin(r, "create", i, T0);
    r = fail(r, i, { message: "503", terminal: false }, T0, DEFAULT_BACKOFF, half).record!;
  }
  assert.equal(r.parked, true);
  assert.equal(r.notBefore, T0 + 300_000);
});

Deno.test("membership: ordered changes replay to the final set, including a pod that moved nodes", () => {
  const a = new Map([["10.0.0.1", "192.168.0.1"], ["10.0.0.2", "192.168.0.1"]]);
  const b = new Map([["10.0.0.2", "192.168.0.2"], ["10.0.0.3", "192.168.0.1"]]);
  const target = new Map<string, string>();
  applyChanges(target, membershipChanges(new Map(), a));
  applyChanges(target, membershipChanges(a, b));
  assert.deepEqual(target, b);
});

Deno.test("differ: partial update of changed addresses; an emptied location is removed", () => {
  const azure: LocationMap = new Map([
    ["192.168.0.1", new Map([["10.0.0.1", new Set(["zl-a"])], ["10.0.0.2", new Set(["zl-a", "zl-b"])]])],
    ["192.168.0.2", new Map([["10.0.1.1", new Set(["zl-b"])]])],
    ["192.168.0.3", new Map([["10.0.2.1", new Set(["zl-c"])], ["10.0.2.2", new Set(["zl-c"])]])],
  ]);
  const desired: LocationMap = new Map([
    ["192.168.0.1", new Map([["10.0.0.2", new Set(["zl-a"])], ["10.0.0.5", new Set(["zl-a"])]])],
    ["192.168.0.3", new Map([["10.0.2.1", new Set(["zl-c"])], ["10.0.2.2", new Set(["zl-c"])]])],
  ]);
  const diff = diffLocations(desired, azure)!;
  assert.equal(diff.request.action, "PartialUpdate");
  assert.deepEqual(diff.request.addressLocations, [
    {
      addressLocation: "192.168.0.1",
      addressUpdateAction: "PartialUpdate",
      addresses: [{ address: "10.0.0.1" }, { address: "10.0.0.2", services: ["zl-a"] }, {
        address: "10.0.0.5",
        services: ["zl-a"],
      }],
    },
    { addressLocation: "192.168.0.2", addresses: [] },
  ]);
  assert.deepEqual([diff.added, diff.removed, diff.updated], [1, 2, 1]);
  assert.deepEqual(locationMapJson(applyLocationsRequest(azure, diff.request)), locationMapJson(desired));
  assert.equal(diffLocations(desired, desired), undefined);
  assert.equal(referencesTo(azure, "zl-b"), 2);
});

Deno.test("differ: a full update when it is the smaller request (e.g. everything went)", () => {
  const azure: LocationMap = new Map([["192.168.0.1", new Map([["10.0.0.1", new Set(["zl-a"])]])]]);
  const diff = diffLocations(new Map(), azure)!;
  assert.deepEqual(diff.request, { action: "FullUpdate", addressLocations: [] });
  assert.equal(applyLocationsRequest(azure, diff.request).size, 0);
});

const ip = (prefix: string) => fc.integer({ min: 1, max: 6 }).map((n) => `${prefix}.${n}`);
const memberships = fc.dictionary(
  fc.constantFrom("zl-a", "zl-b", "zl-c"),
  fc.dictionary(ip("10.0.0"), ip("192.168.0"), { maxKeys: 5 }),
  { maxKeys: 3 },
).map((d) => new Map(Object.entries(d).map(([s, pods]) => [s, new Map(Object.entries(pods))])));

Deno.test("differ (property): applying the diff to any gateway state yields exactly the desired state", () => {
  fc.assert(
    fc.property(memberships, memberships, (want, have) => {
      const desired = desiredLocations(want, () => true);
      const azure = desiredLocations(have, () => true);
      const diff = diffLocations(desired, azure);
      const after = diff ? applyLocationsRequest(azure, diff.request) : azure;
      assert.deepEqual(locationMapJson(after), locationMapJson(desired));
      // Every pod IP sits at exactly one location.
      const ips = [...desired.values()].flatMap((l) => [...l.keys()]);
      assert.equal(new Set(ips).size, ips.length);
    }),
    { numRuns: 300 },
  );
});
