import assert from "node:assert/strict";
import { collectionLows, distribution, percentile, slope, windowMinima } from "../../bench/stats.ts";
import { summarizeMemory } from "../../bench/churn.ts";
import { BenchOptionError, churnScaleOf, parseBenchOptions } from "../../bench/options.ts";
import {
  apiWritesByOperation,
  descendants,
  parsePrometheus,
  sumOf,
  treeStats,
} from "../../bench/controller_process.ts";
import { planFleet } from "../../bench/fleet.ts";
import { leaderProblem } from "../../bench/fleet_watch.ts";
import { sampleServices } from "../../bench/failover.ts";
import { latencyCdfSvg, logTicks } from "../../bench/chart.ts";
import type { EndpointSlice, Pod, Service } from "../../core/kube/types.ts";

Deno.test("bench stats: nearest-rank percentiles, mean and max", () => {
  const d = distribution([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
  assert.deepEqual([d.count, d.p50, d.p90, d.p99, d.max, d.mean], [10, 5, 9, 10, 10, 5.5]);
  assert.equal(percentile([], 50), NaN);
  assert.equal(percentile([7], 99), 7);
});

Deno.test("bench stats: slope of a line and per-window minima", () => {
  assert.equal(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
  assert.equal(slope([{ x: 1, y: 1 }]), 0);
  const floors = windowMinima([{ t: 0, v: 5 }, { t: 10, v: 3 }, { t: 60, v: 9 }, { t: 70, v: 8 }], 60);
  assert.deepEqual(floors, [{ x: 10, y: 3 }, { x: 70, y: 8 }]);
});

Deno.test("bench options: defaults are the issue's scales; churn follows 1,000 unless told otherwise", () => {
  const o = parseBenchOptions([]);
  assert.deepEqual(o.scales, [100, 1000, 5000]);
  assert.equal(o.samples, 200);
  assert.equal(churnScaleOf(o), 1000);
  assert.equal(churnScaleOf(parseBenchOptions(["--scales=100,300"])), 300);
  assert.equal(churnScaleOf(parseBenchOptions(["--churn-minutes=0"])), undefined);
  const p = parseBenchOptions([
    "--scales",
    "10,20",
    "--controller-arg=--qps=200",
    "--kubeconfig=/k",
    "--pace-ms=0",
  ]);
  assert.deepEqual([p.scales, p.controllerArgs, p.kubeconfig, p.paceMs], [[10, 20], ["--qps=200"], "/k", 0]);
});

Deno.test("bench options: errors name the flag, what was expected and what was received", () => {
  assert.throws(
    () => parseBenchOptions(["--scales=100,x"]),
    /--scales: expected a whole number >= 1, received "x"/,
  );
  assert.throws(() => parseBenchOptions(["--pods-per-service=1"]), /--pods-per-service: expected .*>= 2/);
  assert.throws(() => parseBenchOptions(["--nope=1"]), BenchOptionError);
  assert.throws(
    () => parseBenchOptions(["--scales=100", "--churn-scale=1000"]),
    /--churn-scale: expected one of the scales \[100\], received 1000/,
  );
});

Deno.test("bench metrics: Prometheus text parsed; API writes by operation exclude reads and watches", () => {
  const text = [
    "# HELP x y",
    'zen_lead_api_call_duration_seconds_count{operation="replace_endpointslices"} 3',
    'zen_lead_api_call_duration_seconds_count{operation="create_events"} 2',
    'zen_lead_api_call_duration_seconds_count{operation="get_services"} 9',
    'zen_lead_api_call_duration_seconds_count{operation="watch_pods"} 4',
    'zen_lead_api_writes_total{kind="Service",verb="update"} 5',
    "zen_lead_heap_used_bytes 1048576",
  ].join("\n");
  const samples = parsePrometheus(text);
  assert.deepEqual(apiWritesByOperation(samples), { replace_endpointslices: 3, create_events: 2 });
  assert.equal(sumOf(samples, "zen_lead_api_writes_total"), 5);
  assert.equal(sumOf(samples, "zen_lead_heap_used_bytes"), 1048576);
});

Deno.test("bench fleet: Services spread over namespaces of the given size, leader names derived", () => {
  const f = planFleet("r1", 5, 2, 3);
  assert.deepEqual(f.namespaces, ["zlb-r1-0", "zlb-r1-1", "zlb-r1-2"]);
  assert.deepEqual(f.services.map((s) => s.key), [
    "zlb-r1-0/svc-0",
    "zlb-r1-0/svc-1",
    "zlb-r1-1/svc-2",
    "zlb-r1-1/svc-3",
    "zlb-r1-2/svc-4",
  ]);
  assert.equal(f.services[4].leaderName, "svc-4-leader");
});

Deno.test("bench failover sampling: spread evenly, round-robin when samples outnumber Services", () => {
  const f = planFleet("r", 10, 10, 3);
  assert.deepEqual(sampleServices(f.services, 5).map((s) => s.name), [
    "svc-0",
    "svc-2",
    "svc-4",
    "svc-6",
    "svc-8",
  ]);
  const many = sampleServices(f.services, 25);
  assert.equal(many.length, 25);
  assert.equal(new Set(many.map((s) => s.name)).size, 10);
});

function pod(uid: string, ready: boolean, extra: Partial<Pod["metadata"]> = {}): Pod {
  return {
    metadata: { name: `p-${uid}`, namespace: "ns", uid, ...extra },
    status: {
      phase: "Running",
      podIP: `10.0.0.${uid}`,
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

const svc = { namespace: "ns", name: "web", key: "ns/web", leaderName: "web-leader" };
const leaderSvc = (uid: string): Service => ({
  metadata: {
    name: "web-leader",
    namespace: "ns",
    labels: { "zen-lead.io/source-service": "web" },
    annotations: { "zen-lead.io/leader-pod-uid": uid },
  },
  spec: { ports: [] },
});
const slice = (uid: string, ip = `10.0.0.${uid}`): EndpointSlice => ({
  metadata: { name: "web-leader", namespace: "ns", labels: { "zen-lead.io/source-service": "web" } },
  addressType: "IPv4",
  endpoints: [{
    addresses: [ip],
    conditions: { ready: true },
    targetRef: { kind: "Pod", name: `p-${uid}`, uid },
  }],
});

Deno.test("bench correctness: a leader is right only when Service, slice, pod and address agree", () => {
  const pods = [
    pod("1", true),
    pod("2", false),
    pod("3", true, { deletionTimestamp: "2026-01-01T00:00:00Z" }),
  ];
  assert.equal(leaderProblem(svc, leaderSvc("1"), slice("1"), pods), undefined);
  assert.match(leaderProblem(svc, undefined, slice("1"), pods)!, /no leader Service/);
  assert.match(leaderProblem(svc, leaderSvc("1"), undefined, pods)!, /no EndpointSlice/);
  assert.match(leaderProblem(svc, leaderSvc("2"), slice("2"), pods)!, /not eligible/);
  assert.match(leaderProblem(svc, leaderSvc("3"), slice("3"), pods)!, /not eligible/);
  assert.match(leaderProblem(svc, leaderSvc("9"), slice("9"), pods)!, /not one of the Service's pods/);
  assert.match(leaderProblem(svc, leaderSvc("1"), slice("1", "10.9.9.9"), pods)!, /pod IP is 10.0.0.1/);
  assert.match(leaderProblem(svc, leaderSvc("2"), slice("1"), pods)!, /leader Service names pod uid 2/);
  const empty = { ...slice("1"), endpoints: [] };
  assert.match(leaderProblem(svc, leaderSvc("1"), empty, pods)!, /0 endpoints, expected exactly 1/);
});

Deno.test("bench chart: log ticks and one CDF line per series, labels escaped", () => {
  assert.deepEqual(logTicks(1, 100), [1, 2, 5, 10, 20, 50, 100]);
  const svg = latencyCdfSvg("a <b>", [
    { label: "x", color: "#000", values: [1, 2, 3] },
    { label: "y", color: "#111", values: [10, 20] },
  ]);
  assert.match(svg, /^<svg /);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  assert.match(svg, /a &lt;b&gt;/);
  assert.match(svg, /x \(n=3\)/);
});

Deno.test("bench churn memory: a saw-tooth with level lows is flat, rising lows are not", () => {
  const sawTooth = (rise: number) =>
    Array.from({ length: 61 }, (_, i) => {
      const t = i * 10;
      const cycle = i % 12; // a major collection every 2 minutes
      return { t, rssMb: 200 + (rise * t) / 600, heapMb: 60 + cycle * 3 + (rise * t) / 600 };
    });
  const flat = summarizeMemory(sawTooth(0), 10);
  assert.equal(flat.flat, true, JSON.stringify(flat));
  assert.equal(flat.heapLows.length, 5);
  assert.ok(Math.abs(flat.heapTrendMbPerHour) < 0.01);
  const growing = summarizeMemory(sawTooth(20), 10);
  assert.equal(growing.flat, false);
  assert.ok(Math.abs(growing.heapTrendMbPerHour - 120) < 1, String(growing.heapTrendMbPerHour));
  assert.ok(growing.heapLastMb > growing.heapFirstMb);
});

Deno.test("bench stats: collection lows are the samples right after a drop of more than 10%", () => {
  const lows = collectionLows([{ t: 0, v: 50 }, { t: 1, v: 80 }, { t: 2, v: 60 }, { t: 3, v: 58 }, {
    t: 4,
    v: 90,
  }]);
  assert.deepEqual(lows, [{ x: 2, y: 60 }]);
});

Deno.test("bench process tree: a child process is counted in the RSS and CPU of its parent's tree", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  try {
    assert.ok((await descendants(Deno.pid)).includes(child.pid), "the child is a descendant");
    const tree = await treeStats(Deno.pid);
    assert.ok(tree.processes >= 2, JSON.stringify(tree));
    assert.ok(tree.rssBytes > tree.main.rssBytes, JSON.stringify(tree));
    assert.ok(tree.main.rssBytes > 1_000_000);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("rSquared: 1 on a line, near 0 on noise around a flat mean", async () => {
  const { rSquared } = await import("../../bench/stats.ts");
  assert.equal(rSquared([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 1);
  const noise = [5, 7, 5, 7, 5, 7, 5, 7].map((y, x) => ({ x, y }));
  assert.ok(rSquared(noise) < 0.1, String(rSquared(noise)));
});
