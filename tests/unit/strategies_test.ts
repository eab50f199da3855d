/** The built-in strategies: versioned plugins that rank only the given pods, deterministically. */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import type { Candidate, LeaderStrategy, NodeView, PluginDefinition, StrategyInput } from "../../mod.ts";
import { ALWAYS_ACTIVE } from "../../core/plugin/replica_activity.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { selectLeaders } from "../../core/leader/select.ts";
import {
  builtinStrategies,
  DEFAULT_STRATEGY,
  newest,
  nodeAware,
  oldest,
  random,
} from "../../strategies/mod.ts";
import { fnv1a32, rendezvousWeight } from "../../strategies/hash.ts";

// ---- fixtures ----

/** Sets a strategy up the way the kernel does: plugin-level options validated by its schema first. */
function instantiate<O>(
  def: PluginDefinition<"strategy", O, LeaderStrategy>,
  options?: unknown,
): LeaderStrategy {
  // A plugin without a schema takes no options; the kernel gives it `undefined`.
  const validated = (def.options ? v.parse(def.options, options) : undefined) as O;
  return def.setup({
    name: def.name,
    options: validated,
    logger: new RootLogger("error", () => {}),
    metrics: new MetricsRegistry(),
    signal: new AbortController().signal,
    leadership: ALWAYS_ACTIVE,
    dependency: () => {
      throw new Error(`${def.name} has no dependencies`);
    },
  }) as LeaderStrategy;
}

function node(name: string, extra: Partial<NodeView> = {}): NodeView {
  return { name, ready: true, unschedulable: false, taints: [], labels: {}, ...extra };
}

function pod(
  uid: string,
  createdAt: number,
  extra: { name?: string; node?: NodeView; nodeName?: string; priority?: number } = {},
): Candidate {
  return {
    pod: {
      namespace: "ns",
      name: extra.name ?? uid,
      uid,
      ip: "10.0.0.1",
      nodeName: extra.nodeName ?? extra.node?.name,
      labels: {},
      annotations: {},
      createdAt,
      ports: [],
    },
    node: extra.node,
    priority: extra.priority ?? 0,
  };
}

function input(candidates: readonly Candidate[], extra: Partial<StrategyInput> = {}): StrategyInput {
  return {
    service: { namespace: "ns", name: "svc", uid: "svc-uid", annotations: {} },
    candidates,
    currentLeaders: [],
    count: 1,
    options: undefined,
    seed: "seed",
    now: 1_000_000,
    ...extra,
  };
}

const strategies = {
  oldest: instantiate(oldest),
  newest: instantiate(newest),
  random: instantiate(random),
  "node-aware": instantiate(nodeAware),
};

// ---- arbitraries ----

const NODE_NAMES = ["n0", "n1", "n2", "n3", "n4"];

const nodeArb: fc.Arbitrary<NodeView> = fc.record({
  ready: fc.constantFrom<NodeView["ready"]>(true, true, false, "Unknown"),
  unschedulable: fc.boolean(),
  taints: fc.subarray([
    { key: "drain", effect: "NoSchedule" },
    { key: "evict", effect: "NoExecute" },
    { key: "soft", effect: "PreferNoSchedule" },
  ]),
  zone: fc.option(fc.constantFrom("z1", "z2", "z3"), { nil: undefined }),
  disk: fc.constantFrom("ssd", "hdd"),
}).map(({ disk, ...rest }) => ({ name: "", labels: { disk }, ...rest }));

/** Five named nodes, each in some state. */
const nodesArb = fc.tuple(...NODE_NAMES.map(() => nodeArb)).map((nodes) =>
  nodes.map((n, i) => ({ ...n, name: NODE_NAMES[i] }))
);

const podSpecArb = fc.record({
  uid: fc.stringMatching(/^[0-9a-f]{6}$/),
  prefix: fc.constantFrom("api", "web", "db"),
  createdAt: fc.integer({ min: 0, max: 6 }),
  // Index 5 is a node zen-lead has not observed (not in the cache).
  nodeIndex: fc.integer({ min: 0, max: 5 }),
  priority: fc.constantFrom(0, 0, 0, 5, -5),
});

/** Candidates with unique UIDs and names, small ages so that ties by age are common. */
const candidatesArb = fc.tuple(
  nodesArb,
  fc.uniqueArray(podSpecArb, { selector: (p) => p.uid, maxLength: 12 }),
)
  .map(([nodes, specs]) =>
    specs.map((s) =>
      pod(s.uid, s.createdAt, {
        name: `${s.prefix}-${s.uid}`,
        nodeName: s.nodeIndex < NODE_NAMES.length ? NODE_NAMES[s.nodeIndex] : "n-unobserved",
        node: nodes[s.nodeIndex],
        priority: s.priority,
      })
    )
  );

/** A permutation of `items` driven by fast-check (so failures shrink). */
function permute<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items.map((item, i) => ({ item, key: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((a, b) => a.key - b.key || b.i - a.i)
    .map((x) => x.item);
}

const keysArb = fc.array(fc.integer(), { minLength: 1, maxLength: 12 });
const strategyNameArb = fc.constantFrom(...(Object.keys(strategies) as (keyof typeof strategies)[]));
const onUnreachableNode = (c: Candidate) => c.node !== undefined && c.node.ready !== true;

// ---- the plugin shape ----

Deno.test("builtinStrategies: every built-in is a versioned strategy plugin, oldest is the default", () => {
  assertEquals(builtinStrategies.map((s) => s.name), ["oldest", "newest", "random", "node-aware"]);
  for (const s of builtinStrategies) {
    assertEquals(s.kind, "strategy");
    assert(/^\d+\.\d+\.\d+$/.test(s.version), `${s.name} version ${s.version}`);
  }
  assertEquals(DEFAULT_STRATEGY, "oldest");
  assertEquals(strategies["node-aware"].needsNodes, true);
  assertEquals(strategies.oldest.needsNodes, undefined);
});

// ---- properties shared by every strategy ----

Deno.test("every strategy ranks only given pods, each once; all but node-aware rank every pod", () => {
  fc.assert(fc.property(strategyNameArb, candidatesArb, fc.string(), (name, candidates, seed) => {
    const ranked = strategies[name].rank(input(candidates, { seed }));
    const given = new Set(candidates.map((c) => c.pod.uid));
    assertEquals(new Set(ranked).size, ranked.length, "no duplicates");
    assert(ranked.every((uid) => given.has(uid)), "only given pods");
    const expected = name === "node-aware" ? candidates.filter((c) => !onUnreachableNode(c)) : candidates;
    assertEquals(ranked.length, expected.length);
  }));
});

Deno.test("every strategy: reordering the candidate array never changes the ranking or the leaders", () => {
  fc.assert(
    fc.property(
      strategyNameArb,
      candidatesArb,
      keysArb,
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      (name, candidates, keys, count, sticky) => {
        const shuffled = permute(candidates, keys);
        const ranked = strategies[name].rank(input(candidates));
        assertEquals(strategies[name].rank(input(shuffled)), ranked);
        const current = candidates.slice(0, 2).map((c) => c.pod.uid);
        const select = (cs: readonly Candidate[]) =>
          selectLeaders({ ranked, candidates: cs, currentLeaders: current, count, sticky });
        assertEquals(select(shuffled), select(candidates));
      },
    ),
  );
});

Deno.test("every strategy through selectLeaders: a pool has exactly min(N, ranked) distinct pods", () => {
  fc.assert(
    fc.property(strategyNameArb, candidatesArb, fc.integer({ min: 1, max: 6 }), (name, candidates, count) => {
      const ranked = strategies[name].rank(input(candidates, { count }));
      const { leaders } = selectLeaders({ ranked, candidates, currentLeaders: [], count, sticky: true });
      assertEquals(leaders.length, Math.min(count, ranked.length));
      assertEquals(new Set(leaders).size, leaders.length);
    }),
  );
});

// ---- oldest / newest ----

Deno.test("oldest: earliest createdAt leads, ties go to the first pod name", () => {
  const ranked = strategies.oldest.rank(input([
    pod("u1", 300, { name: "web-c" }),
    pod("u2", 100, { name: "web-b" }),
    pod("u3", 100, { name: "web-a" }),
    pod("u4", 200, { name: "web-d" }),
  ]));
  assertEquals(ranked, ["u3", "u2", "u4", "u1"]);
});

Deno.test("newest: latest createdAt leads, ties go to the first pod name", () => {
  const ranked = strategies.newest.rank(input([
    pod("u1", 300, { name: "web-c" }),
    pod("u2", 300, { name: "web-b" }),
    pod("u3", 100, { name: "web-a" }),
  ]));
  assertEquals(ranked, ["u2", "u1", "u3"]);
});

Deno.test("oldest: adding a younger pod never changes the leader; removing a non-leader neither", () => {
  fc.assert(
    fc.property(candidatesArb, fc.stringMatching(/^[a-z]{1,8}$/), (candidates, name) => {
      fc.pre(candidates.length > 0);
      const before = strategies.oldest.rank(input(candidates))[0];
      const youngest = Math.max(...candidates.map((c) => c.pod.createdAt));
      const younger = pod("new-uid", youngest + 1, { name });
      assertEquals(strategies.oldest.rank(input([...candidates, younger]))[0], before);
      const withoutOne = candidates.filter((c) =>
        c.pod.uid !== candidates.at(-1)!.pod.uid || c.pod.uid === before
      );
      assertEquals(strategies.oldest.rank(input(withoutOne))[0], before);
    }),
  );
});

Deno.test("newest is oldest reversed when no two pods are the same age", () => {
  fc.assert(
    fc.property(candidatesArb, (candidates) => {
      const distinctAges = candidates.map((c, i) => ({
        ...c,
        pod: { ...c.pod, createdAt: c.pod.createdAt * 100 + i },
      }));
      assertEquals(
        strategies.newest.rank(input(distinctAges)),
        [...strategies.oldest.rank(input(distinctAges))].reverse(),
      );
    }),
  );
});

// ---- random ----

Deno.test("random: the same seed gives the same order; removing or adding a pod keeps the others' order", () => {
  fc.assert(
    fc.property(candidatesArb, fc.string(), fc.integer({ min: 0, max: 11 }), (candidates, seed, drop) => {
      const ranked = strategies.random.rank(input(candidates, { seed }));
      assertEquals(strategies.random.rank(input(candidates, { seed })), ranked);
      const gone = candidates[drop]?.pod.uid;
      const fewer = candidates.filter((c) => c.pod.uid !== gone);
      assertEquals(strategies.random.rank(input(fewer, { seed })), ranked.filter((uid) => uid !== gone));
      const more = [...candidates, pod("zzz-extra", 0)];
      assertEquals(
        strategies.random.rank(input(more, { seed })).filter((uid) => uid !== "zzz-extra"),
        ranked,
      );
    }),
  );
});

Deno.test("random: over many seeds each of four pods leads about a quarter of the time", () => {
  const candidates = ["a", "b", "c", "d"].map((uid) => pod(`pod-uid-${uid}`, 0));
  const wins = new Map<string, number>();
  const seeds = 4000;
  for (let i = 0; i < seeds; i++) {
    const leader = strategies.random.rank(input(candidates, { seed: `seed-${i}` }))[0];
    wins.set(leader, (wins.get(leader) ?? 0) + 1);
  }
  assertEquals(wins.size, 4);
  for (const [uid, n] of wins) {
    assert(n > seeds * 0.2 && n < seeds * 0.3, `${uid} led ${n} of ${seeds} times`);
  }
});

Deno.test("hash: FNV-1a matches its published test vectors", () => {
  assertEquals(fnv1a32(""), 0x811c9dc5);
  assertEquals(fnv1a32("a"), 0xe40c292c);
  assertEquals(fnv1a32("foobar"), 0xbf9cf968);
  assert(rendezvousWeight("ab", "c") !== rendezvousWeight("a", "bc"));
});

// ---- node-aware ----

Deno.test("node-aware: never ranks a pod on a NotReady or Unknown node, even when the pod reads Ready", () => {
  fc.assert(
    fc.property(candidatesArb, fc.integer({ min: 1, max: 5 }), fc.boolean(), (candidates, count, sticky) => {
      const ranked = strategies["node-aware"].rank(input(candidates, { count }));
      const unreachable = new Set(candidates.filter(onUnreachableNode).map((c) => c.pod.uid));
      assert(ranked.every((uid) => !unreachable.has(uid)));
      // Even a current leader on an unreachable node is not kept by sticky.
      const currentLeaders = [...unreachable].slice(0, count);
      const { leaders } = selectLeaders({ ranked, candidates, currentLeaders, count, sticky });
      assert(leaders.every((uid) => !unreachable.has(uid)));
    }),
  );
});

Deno.test("node-aware: healthy nodes first, then cordoned or tainted, then unobserved; base order inside", () => {
  const candidates = [
    pod("on-notready", 0, { node: node("n-down", { ready: false }) }),
    pod("on-unknown", 0, { node: node("n-lost", { ready: "Unknown" }) }),
    pod("unobserved", 1, { nodeName: "n-new" }),
    pod("cordoned", 2, { node: node("n-cordon", { unschedulable: true }) }),
    pod("tainted", 3, { node: node("n-taint", { taints: [{ key: "k", effect: "NoExecute" }] }) }),
    pod("soft-taint", 5, { node: node("n-soft", { taints: [{ key: "k", effect: "PreferNoSchedule" }] }) }),
    pod("healthy", 4, { node: node("n-ok") }),
  ];
  assertEquals(strategies["node-aware"].rank(input(candidates)), [
    "healthy",
    "soft-taint",
    "cordoned",
    "tainted",
    "unobserved",
  ]);
  const newestFirst = instantiate(nodeAware, { order: "newest" });
  assertEquals(newestFirst.rank(input(candidates)), [
    "soft-taint",
    "healthy",
    "tainted",
    "cordoned",
    "unobserved",
  ]);
});

Deno.test("node-aware: spreading never ranks a pod on a worse node before one on a better node", () => {
  // Tiers recomputed here from the node fields: 0 healthy, 1 cordoned or NoSchedule/NoExecute, 2 unobserved.
  const tier = (c: Candidate) =>
    !c.node ? 2 : c.node.unschedulable ||
        c.node.taints.some((t) => t.effect === "NoSchedule" || t.effect === "NoExecute")
      ? 1
      : 0;
  fc.assert(
    fc.property(candidatesArb, (candidates) => {
      const byUid = new Map(candidates.map((c) => [c.pod.uid, c]));
      const tiers = strategies["node-aware"].rank(input(candidates)).map((uid) => tier(byUid.get(uid)!));
      assertEquals(tiers, [...tiers].sort((a, b) => a - b));
    }),
  );
});

Deno.test("node-aware: preferred node label, then preferred zone, before age; per-Service options win", () => {
  const candidates = [
    pod("old-z1", 0, { node: node("a", { zone: "z1" }) }),
    pod("mid-z2", 1, { node: node("b", { zone: "z2" }) }),
    pod("new-z2-ssd", 2, { node: node("c", { zone: "z2", labels: { disk: "ssd" } }) }),
  ];
  const zoned = instantiate(nodeAware, { preferredZone: "z2" });
  assertEquals(zoned.rank(input(candidates))[0], "mid-z2");
  const labelled = instantiate(nodeAware, {
    preferredZone: "z2",
    preferredNodeLabel: { key: "disk", value: "ssd" },
  });
  assertEquals(labelled.rank(input(candidates))[0], "new-z2-ssd");
  // Per-Service options override the plugin-level ones field by field; unset fields keep them.
  assertEquals(zoned.rank(input(candidates, { options: { preferredZone: "z1" } }))[0], "old-z1");
  assertEquals(zoned.rank(input(candidates, { options: { order: "newest" } }))[0], "new-z2-ssd");
});

Deno.test("node-aware: options are validated with messages naming the field", () => {
  const schema = strategies["node-aware"].optionsSchema!;
  assertEquals(v.parse(schema, undefined), {});
  const bad = v.safeParse(schema, { order: "fastest" });
  assert(!bad.success);
  assertEquals(v.getDotPath(bad.issues[0]), "order");
  assert(bad.issues[0].message.includes('"oldest" or "newest"'), bad.issues[0].message);
  const unknownKey = v.safeParse(schema, { preferedZone: "z1" });
  assert(!unknownKey.success);
  assertEquals(v.getDotPath(unknownKey.issues[0]), "preferedZone");
});

Deno.test("node-aware: a pool is spread over distinct nodes and zones", () => {
  const candidates = [
    pod("a1", 0, { node: node("a", { zone: "z1" }) }),
    pod("a2", 1, { node: node("a", { zone: "z1" }) }),
    pod("b1", 2, { node: node("b", { zone: "z1" }) }),
    pod("c1", 3, { node: node("c", { zone: "z2" }) }),
  ];
  const ranked = strategies["node-aware"].rank(input(candidates, { count: 3 }));
  assertEquals(ranked, ["a1", "c1", "b1", "a2"]);
  const { leaders } = selectLeaders({ ranked, candidates, currentLeaders: [], count: 3, sticky: true });
  assertEquals(leaders, ["a1", "c1", "b1"]);
});

Deno.test("every strategy: pool members land on distinct nodes whenever enough distinct nodes exist", () => {
  fc.assert(
    fc.property(strategyNameArb, candidatesArb, fc.integer({ min: 1, max: 6 }), (name, candidates, count) => {
      // Equal priorities: priority is allowed to co-locate leaders, spreading only orders equals.
      const equal = candidates.map((c) => ({ ...c, priority: 0 }));
      const ranked = strategies[name].rank(input(equal, { count }));
      const nodeOf = new Map(equal.map((c) => [c.pod.uid, c.pod.nodeName]));
      const { leaders } = selectLeaders({
        ranked,
        candidates: equal,
        currentLeaders: [],
        count,
        sticky: true,
      });
      const availableNodes = new Set(ranked.map((uid) => nodeOf.get(uid))).size;
      assertEquals(new Set(leaders.map((uid) => nodeOf.get(uid))).size, Math.min(count, availableNodes));
    }),
  );
});

Deno.test("node-aware: a younger pod beside the leader does not change the leader", () => {
  fc.assert(
    fc.property(candidatesArb, (candidates) => {
      const ranked = strategies["node-aware"].rank(input(candidates));
      fc.pre(ranked.length > 0);
      const leader = candidates.find((c) => c.pod.uid === ranked[0])!;
      const youngest = Math.max(...candidates.map((c) => c.pod.createdAt));
      const younger = pod("younger", youngest + 1, { node: leader.node, nodeName: leader.pod.nodeName });
      assertEquals(strategies["node-aware"].rank(input([...candidates, younger]))[0], ranked[0]);
    }),
  );
});

Deno.test("property runs are not vacuous: generated inputs cover unreachable nodes and pools", () => {
  const samples = fc.sample(candidatesArb, { numRuns: 200, seed: 42 });
  assert(samples.some((cs) => cs.some(onUnreachableNode)));
  assert(samples.some((cs) => cs.some((c) => c.node === undefined)));
  assert(samples.some((cs) => new Set(cs.map((c) => c.pod.nodeName)).size >= 4));
});
