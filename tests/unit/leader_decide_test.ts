/** The pure leader decision for one Service: eligibility, failover reasons, stickiness, pools. */
import assert from "node:assert/strict";
import { type DecideInput, decideLeaders } from "../../core/leader/decide.ts";
import type { HealthChecker, LeaderStrategy } from "../../core/plugin/types.ts";
import oldestPlugin from "../../strategies/oldest.ts";
import { leaderSettings, pod } from "./_leader_fixtures.ts";

const oldest = oldestPlugin.setup({} as never) as LeaderStrategy;
const activeChecker: HealthChecker = { check: () => Promise.resolve({ healthy: true, reason: "ok" }) };
const NOW = 10_000_000;

const settings = leaderSettings;

function input(o: Partial<DecideInput>): DecideInput {
  return {
    service: { namespace: "ns", name: "web", uid: "s", annotations: {} },
    pods: [],
    nodes: new Map(),
    currentLeaders: [],
    settings: settings(),
    strategy: oldest,
    health: () => undefined,
    seed: "seed",
    now: NOW,
    ...o,
  };
}

Deno.test("decide: first election picks the oldest eligible pod and is not a failover", () => {
  const a = pod({ name: "a", created: 2000 });
  const b = pod({ name: "b", created: 1000 });
  const d = decideLeaders(input({ pods: [a, b] }));
  assert.deepEqual(d.leaders.map((p) => p.metadata.name), ["b"]);
  assert.equal(d.reason, "initial");
  assert.equal(d.failover, undefined);
});

Deno.test("decide: terminating, not-Ready, not-Running and IP-less pods are never chosen", () => {
  const pods = [
    pod({ name: "t", created: 1, terminating: true }),
    pod({ name: "n", created: 2, ready: false }),
    pod({ name: "p", created: 3, phase: "Pending" }),
    pod({ name: "i", created: 4, ip: "" }),
    pod({ name: "ok", created: 5 }),
  ];
  assert.deepEqual(decideLeaders(input({ pods })).leaders.map((p) => p.metadata.name), ["ok"]);
});

Deno.test("decide: failover reasons name why the sitting leader was lost", () => {
  const cases: [Parameters<typeof pod>[0], string][] = [
    [{ terminating: true }, "terminating"],
    [{ ready: false }, "notReady"],
    [{ ip: "" }, "noIP"],
  ];
  for (const [opts, reason] of cases) {
    const leader = pod({ name: "l", created: 1, ...opts });
    const other = pod({ name: "o", created: 2 });
    const d = decideLeaders(input({ pods: [leader, other], currentLeaders: ["uid-l"] }));
    assert.equal(d.failover, reason);
    assert.deepEqual(d.leaders.map((p) => p.metadata.name), ["o"]);
  }
  const gone = decideLeaders(input({ pods: [pod({ name: "o2" })], currentLeaders: ["uid-deleted"] }));
  assert.equal(gone.failover, "terminating");
  const none = decideLeaders(input({ pods: [pod({ name: "x", ready: false })], currentLeaders: ["uid-x"] }));
  assert.equal(none.failover, "notReady");
  assert.deepEqual(none.leaders, []);
});

Deno.test("decide: sticky keeps a younger healthy leader; sticky=false moves to the strategy's choice", () => {
  const young = pod({ name: "young", created: 5000 });
  const old = pod({ name: "old", created: 1000 });
  const kept = decideLeaders(input({ pods: [young, old], currentLeaders: ["uid-young"] }));
  assert.deepEqual(kept.leaders.map((p) => p.metadata.name), ["young"]);
  assert.equal(kept.primaryChanged, false);
  const moved = decideLeaders(
    input({ pods: [young, old], currentLeaders: ["uid-young"], settings: settings({ sticky: false }) }),
  );
  assert.deepEqual(moved.leaders.map((p) => p.metadata.name), ["old"]);
  assert.equal(moved.reason, "strategy");
  assert.equal(moved.failover, undefined, "a strategy move is not a failover");
});

Deno.test("decide: min-ready-duration holds back a fresh pod and asks for a requeue when it qualifies", () => {
  const fresh = pod({ name: "fresh", readySince: NOW - 10_000 });
  const d = decideLeaders(input({ pods: [fresh], settings: settings({ minReadyMs: 30_000 }) }));
  assert.deepEqual(d.leaders, []);
  assert.equal(d.requeueAt, NOW + 20_000);
  const later = decideLeaders(
    input({ pods: [fresh], settings: settings({ minReadyMs: 30_000 }), now: NOW + 20_000 }),
  );
  assert.deepEqual(later.leaders.map((p) => p.metadata.name), ["fresh"]);
});

Deno.test("decide: an unhealthy leader fails over with reason unhealthy; unprobed candidates are reported", () => {
  const l = pod({ name: "l", created: 1 });
  const c = pod({ name: "c", created: 2 });
  const s = settings({}, activeChecker);
  const unknown = decideLeaders(
    input({
      pods: [l, c],
      currentLeaders: ["uid-l"],
      settings: s,
      health: (u) => u === "uid-l" ? false : undefined,
    }),
  );
  assert.deepEqual(unknown.unprobed, ["uid-c"], "the successor must be probed on demand");
  const d = decideLeaders(
    input({ pods: [l, c], currentLeaders: ["uid-l"], settings: s, health: (u) => u !== "uid-l" }),
  );
  assert.equal(d.failover, "unhealthy");
  assert.deepEqual(d.leaders.map((p) => p.metadata.name), ["c"]);
});

Deno.test("decide: all candidates unhealthy, fail-open routes to Ready pods, fail-closed routes nowhere", () => {
  const l = pod({ name: "l", created: 1 });
  const c = pod({ name: "c", created: 2 });
  const health = () => false;
  const open = decideLeaders(
    input({ pods: [l, c], currentLeaders: ["uid-l"], settings: settings({}, activeChecker), health }),
  );
  assert.equal(open.allUnhealthy, true);
  assert.deepEqual(open.leaders.map((p) => p.metadata.name), ["l"]);
  const closed = decideLeaders(input({
    pods: [l, c],
    currentLeaders: ["uid-l"],
    settings: settings({ failMode: "closed" }, activeChecker),
    health,
  }));
  assert.deepEqual(closed.leaders, []);
  assert.equal(closed.failover, "unhealthy");
});

Deno.test("decide: a pool of 2 keeps distinct pods; priority pre-empts a sticky leader", () => {
  const pods = [
    pod({ name: "a", created: 1, node: "n1" }),
    pod({ name: "b", created: 2, node: "n2" }),
    pod({ name: "c", created: 3, node: "n3" }),
  ];
  const pool = decideLeaders(input({ pods, settings: settings({ count: 2 }) }));
  assert.deepEqual(pool.leaders.map((p) => p.metadata.name), ["a", "b"]);
  const vip = pod({ name: "vip", created: 9, annotations: { "zen-lead.io/priority": "10" } });
  const d = decideLeaders(input({ pods: [...pods, vip], currentLeaders: ["uid-a"] }));
  assert.deepEqual(d.leaders.map((p) => p.metadata.name), ["vip"]);
  assert.equal(d.reason, "priority");
});

Deno.test("decide: a bad pod priority is reported and keeps the sitting leader", () => {
  const a = pod({ name: "a", created: 5 });
  const bad = pod({ name: "bad", created: 1, annotations: { "zen-lead.io/priority": "high" } });
  const d = decideLeaders(
    input({ pods: [a, bad], currentLeaders: ["uid-a"], settings: settings({ sticky: false }) }),
  );
  assert.deepEqual(d.leaders.map((p) => p.metadata.name), ["a"]);
  assert.equal(d.priorityErrors.length, 1);
  assert.match(d.priorityErrors[0].message, /zen-lead\.io\/priority/);
});

Deno.test("decide: a leader dropped because its node went NotReady is a notReady failover", () => {
  const a = pod({ name: "a", created: 1000, node: "n1" });
  const b = pod({ name: "b", created: 2000, node: "n2" });
  const node = (name: string, ready: boolean | "Unknown") => ({
    name,
    ready,
    unschedulable: false,
    taints: [],
    labels: {},
  });
  // A strategy that, like node-aware, never ranks a pod on a node that is not Ready.
  const nodeAware: LeaderStrategy = {
    rank: ({ candidates }) => candidates.filter((c) => c.node?.ready === true).map((c) => c.pod.uid),
  };
  const d = decideLeaders(input({
    pods: [a, b],
    nodes: new Map([["n1", node("n1", false)], ["n2", node("n2", true)]]),
    currentLeaders: ["uid-a"],
    strategy: nodeAware,
  }));
  assert.deepEqual(d.leaders.map((p) => p.metadata.name), ["b"]);
  assert.equal(d.failover, "notReady");
  assert.equal(d.reason, "notReady");
});
