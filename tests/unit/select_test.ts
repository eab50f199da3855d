import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import type { Candidate } from "../../mod.ts";
import { type LeaderSelection, type SelectionInput, selectLeaders } from "../../core/leader/select.ts";
import { parsePriority, PRIORITY_KEY } from "../../core/leader/priority.ts";
import { nodeKeyOf, spreadPicks, UsedDomains } from "../../core/leader/select_topology.ts";

// ---- fixtures ----

function pod(uid: string, extra: { node?: string; zone?: string; priority?: number } = {}): Candidate {
  return {
    pod: {
      namespace: "ns",
      name: uid,
      uid,
      ip: "10.0.0.1",
      nodeName: extra.node,
      labels: {},
      annotations: {},
      createdAt: 0,
      ports: [],
    },
    node: extra.node
      ? { name: extra.node, ready: true, unschedulable: false, taints: [], labels: {}, zone: extra.zone }
      : undefined,
    priority: extra.priority ?? 0,
  };
}

function select(
  candidates: readonly Candidate[],
  rest: Partial<SelectionInput> = {},
): LeaderSelection {
  return selectLeaders({
    ranked: candidates.map((c) => c.pod.uid),
    candidates,
    currentLeaders: [],
    count: 1,
    sticky: true,
    ...rest,
  });
}

// ---- examples ----

Deno.test("sticky: the current leader stays although the strategy now prefers another pod", () => {
  const result = select([pod("a"), pod("b")], { currentLeaders: ["b"] });
  assertEquals(result, { leaders: ["b"], kept: ["b"], added: [], dropped: [] });
});

Deno.test("not sticky: the strategy's first pod leads and the former leader is dropped", () => {
  const result = select([pod("a"), pod("b")], { currentLeaders: ["b"], sticky: false });
  assertEquals(result, { leaders: ["a"], kept: [], added: ["a"], dropped: ["b"] });
});

Deno.test("first election: the strategy's first pod leads", () => {
  assertEquals(select([pod("a"), pod("b")]), { leaders: ["a"], kept: [], added: ["a"], dropped: [] });
});

Deno.test("priority: a strictly higher priority displaces a sticky leader; an equal one does not", () => {
  const low = [pod("a"), pod("b"), pod("c", { priority: 0 })];
  assertEquals(select(low, { currentLeaders: ["b"] }).leaders, ["b"]);
  const high = [pod("a"), pod("b"), pod("c", { priority: 10 })];
  assertEquals(select(high, { currentLeaders: ["b"] }), {
    leaders: ["c"],
    kept: [],
    added: ["c"],
    dropped: ["b"],
  });
  // Priority also beats the strategy's own order.
  assertEquals(select(high, { sticky: false }).leaders, ["c"]);
});

Deno.test("failover: a leader the strategy no longer ranks is replaced and reported dropped", () => {
  const candidates = [pod("a"), pod("b"), pod("c")];
  const result = select(candidates, { ranked: ["c", "a"], currentLeaders: ["b"] });
  assertEquals(result, { leaders: ["c"], kept: [], added: ["c"], dropped: ["b"] });
});

Deno.test("only ranked candidates lead: unknown, duplicate and unranked UIDs are ignored", () => {
  const candidates = [pod("a"), pod("b"), pod("c")];
  const result = select(candidates, {
    ranked: ["ghost", "b", "b", "a"],
    count: 5,
    currentLeaders: ["ghost"],
  });
  assertEquals(result, { leaders: ["b", "a"], kept: [], added: ["b", "a"], dropped: ["ghost"] });
});

Deno.test("no acceptable pod or no wanted leader gives no leaders", () => {
  assertEquals(select([pod("a")], { ranked: [], currentLeaders: ["a"] }).leaders, []);
  assertEquals(select([pod("a")], { count: 0 }).leaders, []);
  assertEquals(select([pod("a")], { count: Number.NaN }).leaders, []);
  assertEquals(select([], { count: 3 }).leaders, []);
});

Deno.test("pool, sticky: kept leaders keep their order and move up; a newcomer joins at the end", () => {
  const candidates = ["a", "b", "c", "d"].map((uid) => pod(uid, { node: `n-${uid}` }));
  const result = select(candidates, { ranked: ["d", "a", "c"], currentLeaders: ["a", "b", "c"], count: 3 });
  assertEquals(result, { leaders: ["a", "c", "d"], kept: ["a", "c"], added: ["d"], dropped: ["b"] });
  // The primary lost: the surviving member that already serves becomes primary, not the newcomer.
  const lost = select(candidates, { ranked: ["d", "b", "c"], currentLeaders: ["a", "b"], count: 2 });
  assertEquals(lost.leaders, ["b", "d"]);
});

Deno.test("pool, sticky: shrinking keeps the first current leaders; growing appends newcomers", () => {
  const candidates = ["a", "b", "c", "d"].map((uid) => pod(uid, { node: `n-${uid}` }));
  const ranked = ["d", "c", "b", "a"];
  assertEquals(select(candidates, { ranked, currentLeaders: ["b", "a", "c"], count: 2 }), {
    leaders: ["b", "a"],
    kept: ["b", "a"],
    added: [],
    dropped: ["c"],
  });
  assertEquals(select(candidates, { ranked, currentLeaders: ["b", "a"], count: 4 }).leaders, [
    "b",
    "a",
    "d",
    "c",
  ]);
});

Deno.test("pool: free slots prefer a new node, then a new zone, over the strategy's order", () => {
  const candidates = [
    pod("a1", { node: "a", zone: "z1" }),
    pod("a2", { node: "a", zone: "z1" }),
    pod("b1", { node: "b", zone: "z1" }),
    pod("c1", { node: "c", zone: "z2" }),
  ];
  assertEquals(select(candidates, { count: 2 }).leaders, ["a1", "c1"]);
  assertEquals(select(candidates, { count: 3 }).leaders, ["a1", "c1", "b1"]);
  assertEquals(select(candidates, { count: 4 }).leaders, ["a1", "c1", "b1", "a2"]);
  // Without zone labels the node is the failure domain.
  const zoneless = [pod("x1", { node: "x" }), pod("x2", { node: "x" }), pod("y1", { node: "y" })];
  assertEquals(select(zoneless, { count: 2 }).leaders, ["x1", "y1"]);
});

Deno.test("pool: priority wins over spreading, spreading orders pods of equal priority", () => {
  const candidates = [
    pod("low-b", { node: "b", priority: 0 }),
    pod("high-a1", { node: "a", priority: 5 }),
    pod("high-a2", { node: "a", priority: 5 }),
    pod("mid-a3", { node: "a", priority: 1 }),
    pod("mid-c", { node: "c", priority: 1 }),
  ];
  assertEquals(select(candidates, { count: 3, sticky: false }).leaders, ["high-a1", "high-a2", "mid-c"]);
});

Deno.test("pool, sticky: a higher-priority newcomer displaces the lowest-priority current leader", () => {
  const candidates = [
    pod("a", { node: "na", priority: 1 }),
    pod("b", { node: "nb", priority: 0 }),
    pod("c", { node: "nc", priority: 3 }),
  ];
  assertEquals(select(candidates, { currentLeaders: ["a", "b"], count: 2 }), {
    leaders: ["a", "c"],
    kept: ["a"],
    added: ["c"],
    dropped: ["b"],
  });
});

// ---- properties ----

const NODES = ["n0", "n1", "n2", "n3"];

/** Pods on up to four nodes; a node's zone comes from its Node, so it is the same for all its pods. */
const candidatesArb = fc.tuple(
  fc.tuple(...NODES.map(() => fc.option(fc.constantFrom("z1", "z2"), { nil: undefined }))),
  fc.uniqueArray(
    fc.record({
      uid: fc.stringMatching(/^[a-f0-9]{4}$/),
      nodeIndex: fc.option(fc.integer({ min: 0, max: NODES.length - 1 }), { nil: undefined }),
      priority: fc.constantFrom(-1, 0, 0, 0, 2),
    }),
    { selector: (p) => p.uid, maxLength: 10 },
  ),
).map(([zones, specs]) =>
  specs.map((s) =>
    pod(s.uid, {
      node: s.nodeIndex === undefined ? undefined : NODES[s.nodeIndex],
      zone: s.nodeIndex === undefined ? undefined : zones[s.nodeIndex],
      priority: s.priority,
    })
  )
);

/** A selection input whose ranking and current leaders mix candidates, strangers and duplicates. */
const selectionArb = candidatesArb.chain((candidates) => {
  const uids = candidates.map((c) => c.pod.uid);
  const someUids = fc.array(fc.oneof(fc.constantFrom(...uids, "stranger"), fc.constant("ghost")), {
    maxLength: 12,
  });
  return fc.record({
    candidates: fc.constant(candidates),
    ranked: uids.length ? someUids : fc.constant([]),
    currentLeaders: uids.length ? someUids : fc.constant([]),
    count: fc.integer({ min: 0, max: 6 }),
    sticky: fc.boolean(),
  });
});

function acceptableOf(input: SelectionInput): Candidate[] {
  const byUid = new Map(input.candidates.map((c) => [c.pod.uid, c]));
  return [...new Set(input.ranked)].filter((uid) => byUid.has(uid)).map((uid) => byUid.get(uid)!);
}

Deno.test("property: leaders are min(count, acceptable) distinct ranked candidates", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const { leaders } = selectLeaders(input);
    const acceptable = new Set(acceptableOf(input).map((c) => c.pod.uid));
    assert(leaders.every((uid) => acceptable.has(uid)));
    assertEquals(new Set(leaders).size, leaders.length);
    assertEquals(leaders.length, Math.min(input.count, acceptable.size));
  }));
});

Deno.test("property: no pod left out has a higher priority than a chosen one", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const { leaders } = selectLeaders(input);
    const chosen = new Set(leaders);
    const acceptable = acceptableOf(input);
    const lowestChosen = Math.min(...acceptable.filter((c) => chosen.has(c.pod.uid)).map((c) => c.priority));
    assert(acceptable.filter((c) => !chosen.has(c.pod.uid)).every((c) => c.priority <= lowestChosen));
  }));
});

Deno.test("property: kept, added and dropped describe the change from the current leaders exactly", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const { leaders, kept, added, dropped } = selectLeaders(input);
    const current = new Set(input.currentLeaders);
    assertEquals(kept, leaders.filter((uid) => current.has(uid)));
    assertEquals(added, leaders.filter((uid) => !current.has(uid)));
    assertEquals(dropped, [...current].filter((uid) => !leaders.includes(uid)));
  }));
});

Deno.test("property: sticky keeps a still-ranked leader unless a higher priority appears", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const acceptable = acceptableOf(input);
    const incumbent = acceptable.find((c) => c.pod.uid === input.currentLeaders[0]);
    fc.pre(input.sticky && incumbent !== undefined);
    const { leaders } = selectLeaders({ ...input, currentLeaders: [incumbent!.pod.uid], count: 1 });
    const top = Math.max(...acceptable.map((c) => c.priority));
    assertEquals(leaders, top > incumbent!.priority ? [leaders[0]] : [incumbent!.pod.uid]);
    if (top > incumbent!.priority) {
      assertEquals(acceptable.find((c) => c.pod.uid === leaders[0])!.priority, top);
    }
  }));
});

Deno.test("property: sticky pool keeps every still-ranked leader, in place, when nothing outranks them", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const acceptable = acceptableOf(input);
    const equal = input.candidates.map((c) => ({ ...c, priority: 0 }));
    const current = [...new Set(input.currentLeaders)];
    const stillRanked = current.filter((uid) => acceptable.some((c) => c.pod.uid === uid));
    fc.pre(input.count >= current.length);
    const { leaders } = selectLeaders({ ...input, candidates: equal, sticky: true });
    assertEquals(leaders.filter((uid) => current.includes(uid)), stillRanked);
    // When every current leader is still ranked, each keeps its exact endpoint position.
    if (stillRanked.length === current.length) assertEquals(leaders.slice(0, current.length), current);
  }));
});

Deno.test("property: selection is stable: re-running on its own result changes nothing", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const first = selectLeaders(input);
    const again = selectLeaders({ ...input, currentLeaders: first.leaders });
    assertEquals(again.leaders, first.leaders);
    assertEquals(again.added, []);
    assertEquals(again.dropped, []);
  }));
});

Deno.test("property: without sticky the current leaders do not matter", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const alone = selectLeaders({ ...input, sticky: false, currentLeaders: [] }).leaders;
    assertEquals(selectLeaders({ ...input, sticky: false }).leaders, alone);
  }));
});

Deno.test("property: without sticky and with equal priorities, one leader is the first ranked candidate", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const equal = input.candidates.map((c) => ({ ...c, priority: 0 }));
    const first = acceptableOf(input)[0]?.pod.uid;
    const { leaders } = selectLeaders({ ...input, candidates: equal, sticky: false, count: 1 });
    assertEquals(leaders, first === undefined ? [] : [first]);
  }));
});

Deno.test("property: with equal priorities a pool covers min(N, distinct nodes) nodes", () => {
  fc.assert(fc.property(selectionArb, (input) => {
    const equal = input.candidates.map((c) => ({ ...c, priority: 0 }));
    const { leaders } = selectLeaders({ ...input, candidates: equal, currentLeaders: [] });
    // A pod without a node is its own failure domain.
    const nodeOf = (uid: string) => equal.find((c) => c.pod.uid === uid)!.pod.nodeName ?? `pod:${uid}`;
    const available = new Set(acceptableOf(input).map((c) => nodeOf(c.pod.uid))).size;
    assertEquals(new Set(leaders.map(nodeOf)).size, Math.min(input.count, available));
  }));
});

// ---- parsePriority ----

Deno.test("parsePriority: absent is 0; integers in range are read from the annotation, else the label", () => {
  assertEquals(parsePriority({}, {}), { value: 0 });
  assertEquals(parsePriority(undefined, undefined), { value: 0 });
  assertEquals(parsePriority({ [PRIORITY_KEY]: "-5" }, {}), { value: -5 });
  assertEquals(parsePriority({}, { [PRIORITY_KEY]: "1000" }), { value: 1000 });
  assertEquals(parsePriority({}, { [PRIORITY_KEY]: "+3" }), { value: 3 });
  assertEquals(parsePriority({}, { [PRIORITY_KEY]: " 7\n" }), { value: 7 });
  assertEquals(parsePriority({}, { [PRIORITY_KEY]: "-0" }), { value: 0 });
  assertEquals(parsePriority({ [PRIORITY_KEY]: "1" }, { [PRIORITY_KEY]: "2" }), { value: 2 });
});

Deno.test("parsePriority: a bad value names where it was, the valid range and what was received", () => {
  assertEquals(parsePriority({}, { [PRIORITY_KEY]: "1001" }), {
    error: 'pod annotation "zen-lead.io/priority": expected an integer from -1000 to 1000, received "1001"',
  });
  assertEquals(parsePriority({ [PRIORITY_KEY]: "high" }, {}), {
    error: 'pod label "zen-lead.io/priority": expected an integer from -1000 to 1000, received "high"',
  });
  for (const bad of ["", "1.5", "1e3", "0x10", "-1001", "99999999999", "10 20"]) {
    const result = parsePriority({}, { [PRIORITY_KEY]: bad });
    assert("error" in result, `${JSON.stringify(bad)} gave ${JSON.stringify(result)}`);
  }
});

Deno.test("property: parsePriority accepts exactly the integers from -1000 to 1000", () => {
  fc.assert(fc.property(fc.integer({ min: -5000, max: 5000 }), (n) => {
    const result = parsePriority({}, { [PRIORITY_KEY]: String(n) });
    assertEquals(result, n >= -1000 && n <= 1000 ? { value: n === 0 ? 0 : n } : result);
    assertEquals("error" in result, n < -1000 || n > 1000);
  }));
});

// ---- spreadPicks ----

/** The plain O(n²) greedy that spreadPicks must equal: best spread score first, ties by position. */
function naiveSpread(ordered: readonly Candidate[], limit: number): string[] {
  const rest = [...ordered];
  const nodes = new Set<string>();
  const zones = new Set<string>();
  const picks: string[] = [];
  while (picks.length < limit && rest.length > 0) {
    const score = (c: Candidate) =>
      (nodes.has(nodeKeyOf(c)) ? 0 : 2) + (zones.has(c.node?.zone ?? nodeKeyOf(c)) ? 0 : 1);
    let best = 0;
    for (let i = 1; i < rest.length; i++) if (score(rest[i]) > score(rest[best])) best = i;
    const [c] = rest.splice(best, 1);
    nodes.add(nodeKeyOf(c));
    zones.add(c.node?.zone ?? nodeKeyOf(c));
    picks.push(c.pod.uid);
  }
  return picks;
}

Deno.test("property: spreadPicks equals the plain greedy spread over nodes then zones", () => {
  fc.assert(fc.property(candidatesArb, fc.integer({ min: 0, max: 12 }), (candidates, limit) => {
    const picks = spreadPicks(candidates, new UsedDomains(), limit).map((c) => c.pod.uid);
    assertEquals(picks, naiveSpread(candidates, limit));
  }));
});
