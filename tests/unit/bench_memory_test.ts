import assert from "node:assert/strict";
import { type MemoryPoint, summarizeMemory } from "../../bench/churn.ts";
import { heapGrowth, Inspector, summarizeSnapshot } from "../../bench/inspector.ts";
import { parseBenchOptions } from "../../bench/options.ts";
import { freePorts } from "../harness/ports.ts";

/** A heap that saw-tooths with rising lows (garbage V8 collects later each time) over a given post-GC series. */
function churnSeries(postGcRisePerMin: number): MemoryPoint[] {
  return Array.from({ length: 61 }, (_, i) => {
    const t = i * 10;
    const point: MemoryPoint = { t, rssMb: 200, heapMb: 60 + (i % 12) * 3 + i * 0.5 };
    if (i % 6 === 0) point.postGcHeapMb = 40 + (postGcRisePerMin * t) / 60;
    return point;
  });
}

Deno.test("bench churn memory: the trend is over forced post-GC readings when there are three or more", () => {
  const flat = summarizeMemory(churnSeries(0), 10);
  assert.equal(flat.heapTrendOf, "post-gc");
  assert.ok(Math.abs(flat.heapTrendMbPerHour) < 0.01, String(flat.heapTrendMbPerHour));
  assert.equal(flat.heapFirstMb, 40);
  assert.equal(flat.flat, true, JSON.stringify(flat));
  // The lows alone would say it grows; the post-GC readings decide.
  assert.ok(flat.heapLows.length >= 3 && flat.heapLows.at(-1)!.mb > flat.heapLows[0].mb);

  const growing = summarizeMemory(churnSeries(1), 10);
  assert.ok(Math.abs(growing.heapTrendMbPerHour - 60) < 0.5, String(growing.heapTrendMbPerHour));
  assert.ok(growing.heapTrendR2 > 0.99);
  assert.equal(growing.flat, false);

  const noGc = summarizeMemory(churnSeries(0).map(({ t, rssMb, heapMb }) => ({ t, rssMb, heapMb })), 10);
  assert.equal(noGc.heapTrendOf, "collection-lows");
});

Deno.test("bench heap snapshot summary: counts and self sizes per constructor, and what grew", () => {
  const snapshot = {
    snapshot: {
      meta: { node_fields: ["type", "name", "id", "self_size"], node_types: [["object", "string"]] },
    },
    // type, name (string index), id, self_size
    nodes: [0, 0, 1, 2 ** 20, 0, 0, 2, 2 ** 20, 0, 1, 3, 100, 1, 2, 4, 2 ** 19],
    strings: ["Pod", "Map", "a string"],
  } as Parameters<typeof summarizeSnapshot>[0];
  const before = summarizeSnapshot(snapshot);
  assert.deepEqual(before[0], { name: "object Pod", count: 2, selfMb: 2 });
  assert.deepEqual(before.find((c) => c.name === "string"), { name: "string", count: 1, selfMb: 0.5 });
  const after = [...before.filter((c) => c.name !== "object Pod"), {
    name: "object Pod",
    count: 5,
    selfMb: 5,
  }];
  assert.deepEqual(heapGrowth(before, after)[0], { name: "object Pod", count: 3, selfMb: 3 });
});

Deno.test("bench --controller-v8-flags (a flag name with a digit) takes its value", () => {
  assert.equal(
    parseBenchOptions(["--controller-v8-flags=--max-old-space-size=128"]).controllerV8Flags,
    "--max-old-space-size=128",
  );
});

Deno.test("bench --heap-snapshots is a switch without a value", () => {
  assert.equal(parseBenchOptions([]).heapSnapshots, false);
  const o = parseBenchOptions(["--heap-snapshots", "--scales=100"]);
  assert.equal(o.heapSnapshots, true);
  assert.deepEqual(o.scales, [100]);
});

Deno.test("bench inspector: a post-GC reading and a heap summary of a real Deno process", async () => {
  const [port] = freePorts(1);
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  // 2,000 live Holder objects of ~10 KB each (20 MB), and garbage made continuously beside them.
  await Deno.writeTextFile(
    script,
    `class Holder { constructor(i) { this.data = Array.from({ length: 1250 }, (_, k) => k + i); } }
     globalThis.kept = Array.from({ length: 2000 }, (_, i) => new Holder(i));
     setInterval(() => { let junk = []; for (let i = 0; i < 1000; i++) junk.push({ i, s: "y" + i }); }, 5);
     console.log("ready");`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", `--inspect=127.0.0.1:${port}`, script],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let inspector: Inspector | undefined;
  const stdout = child.stdout.getReader();
  try {
    // The inspector listens before the script runs: wait until it has made its objects.
    assert.match(new TextDecoder().decode((await stdout.read()).value), /ready/);
    inspector = await Inspector.connect(port);
    const m = await inspector.postGcMemory();
    assert.ok(m.heapUsedMb >= 19, `heap after GC holds the 20 MB kept: ${JSON.stringify(m)}`);
    assert.ok(m.heapUsedMb <= m.heapTotalMb && m.rssMb > m.heapUsedMb, JSON.stringify(m));
    assert.ok(m.spaces.old_space > 0 || m.spaces.large_object_space > 0, JSON.stringify(m.spaces));
    const holders = (await inspector.heapSummary()).find((c) => c.name === "object Holder");
    assert.equal(holders?.count, 2000);
  } finally {
    inspector?.close();
    child.kill("SIGKILL");
    await stdout.cancel();
    await child.status;
    await Deno.remove(script);
  }
});
