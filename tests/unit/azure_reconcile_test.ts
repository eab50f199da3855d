/** The reconciliation's decisions (pure) and its schedule on a manual clock. */
import assert from "node:assert/strict";
import type { OwnedResources } from "../../plugins/azure-servicegateway/arm/gateway_api.ts";
import { portsKey } from "../../plugins/azure-servicegateway/arm/gateway_api.ts";
import { ManualClock } from "../_clock.ts";
import { findRepairs, ReconcileSchedule } from "../../plugins/azure-servicegateway/engine/reconcile.ts";
import {
  begin,
  desire,
  newRecord,
  type ServiceRecord,
  succeed,
} from "../../plugins/azure-servicegateway/engine/service_state.ts";

const T0 = 1_000;
const ports = [{ port: 80, targetPort: 8080, protocol: "TCP" }];
function created(name: string): ServiceRecord {
  const r = begin(desire(newRecord(name, "inbound", T0), true, true, T0), "create", 1, T0);
  return succeed(r, 1, { frontendIP: "20.0.0.1" }, T0).record!;
}
const owned = (name: string, extra: Partial<OwnedResources> = {}): OwnedResources => ({
  name,
  kind: "inbound",
  publicIP: true,
  frontend: true,
  portsKey: portsKey(ports),
  ...extra,
});

Deno.test("reconcile: in step with the gateway, nothing to repair", () => {
  const records = new Map([["zl-a", created("zl-a")]]);
  const specs = new Map([["zl-a", { kind: "inbound" as const, name: "zl-a", ports }]]);
  const listing = { services: [{ name: "zl-a", outbound: false }], resources: [owned("zl-a")] };
  assert.deepEqual(findRepairs(records, specs, listing, "zl-"), []);
});

Deno.test("reconcile: lost, drifted (wrong port, missing load balancer) and leaked services", () => {
  const records = new Map(["zl-a", "zl-b", "zl-c"].map((n) => [n, created(n)]));
  const specs = new Map(
    ["zl-a", "zl-b", "zl-c"].map((n) => [n, { kind: "inbound" as const, name: n, ports }]),
  );
  const listing = {
    services: [
      { name: "zl-b", outbound: false },
      { name: "zl-c", outbound: false },
      { name: "zl-x", outbound: true },
      { name: "other", outbound: false },
    ],
    resources: [
      owned("zl-a"),
      owned("zl-b", { portsKey: portsKey([{ port: 81, targetPort: 8080, protocol: "TCP" }]) }),
      owned("zl-c", { frontend: false, portsKey: undefined }),
      owned("zl-y"),
      owned("zl-x", { kind: "outbound", portsKey: undefined }),
    ],
  };
  assert.deepEqual(findRepairs(records, specs, listing, "zl-"), [
    { kind: "lost", name: "zl-a" },
    { kind: "drifted", name: "zl-b" },
    { kind: "drifted", name: "zl-c" },
    { kind: "leaked", name: "zl-x", serviceKind: "outbound", registered: true },
    { kind: "leaked", name: "zl-y", serviceKind: "inbound", registered: false },
  ]);
});

Deno.test("reconcile: a record with an operation in flight, or due for an update, is left alone", () => {
  const busy = begin(desire(created("zl-a"), true, true, T0), "update", 2, T0);
  const due = desire(created("zl-b"), true, true, T0);
  const records = new Map([["zl-a", busy], ["zl-b", due]]);
  assert.deepEqual(findRepairs(records, new Map(), { services: [], resources: [] }, "zl-"), [
    { kind: "lost", name: "zl-b" },
  ], "zl-b is registered and unlisted: lost even while an update is due; zl-a is in flight");
});

Deno.test("reconcile schedule: the earliest request wins, one run at a time, periodic after each run", async () => {
  const clock = new ManualClock(1_700_000_000_000);
  let runs = 0;
  let release: () => void = () => {};
  const s = new ReconcileSchedule(clock, 1_000, () => {
    runs++;
    return new Promise<void>((r) => release = r);
  });
  s.schedule(1_000);
  s.schedule(50);
  clock.tick(50);
  assert.equal(runs, 1);
  s.schedule(0); // while running: once more afterwards
  clock.tick(10_000);
  assert.equal(runs, 1, "never two at once");
  release();
  await new Promise((r) => setTimeout(r, 0));
  clock.tick(0);
  assert.equal(runs, 2, "the request made during the run");
  release();
  await new Promise((r) => setTimeout(r, 0));
  clock.tick(999);
  assert.equal(runs, 2);
  clock.tick(1);
  assert.equal(runs, 3, "then every intervalMs");
  s.close();
  release();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(clock.pending, 0, "no timer after close");
});
