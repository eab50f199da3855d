/**
 * The status page's pure parts and the status commands' helpers, without a cluster: every cluster value is
 * escaped, the latency chart, the bounded leader history, ages, the CLI flags and the krew manifest.
 */
import assert from "node:assert/strict";
import type { Explanation } from "../../core/explain/model.ts";
import { EXPLAIN_API_VERSION } from "../../core/explain/model.ts";
import { latencyChart, niceMax } from "../../core/status/ui/chart.ts";
import { servicePanel, summaryRows } from "../../core/status/ui/page.ts";
import { CHANGES_PER_SERVICE, LeaderHistory } from "../../core/status/history.ts";
import type { LeaderChange } from "../../core/status/model.ts";
import { age } from "../../core/explain/render_text.ts";
import { parseCliArgs, UsageError } from "../../app/cli/args.ts";
import { krewManifest } from "../../kubectl-plugin/krew.ts";
import { wrapperScript } from "../../kubectl-plugin/install.ts";

const EVIL = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
const NOW = Date.parse("2026-12-01T10:00:00Z");

function explanation(): Explanation {
  return {
    apiVersion: EXPLAIN_API_VERSION,
    generatedAt: new Date(NOW).toISOString(),
    service: { namespace: "ns", name: "web", optedIn: true, selector: { app: "web" } },
    leaderService: "web-leader",
    configuration: "no ConfigMap",
    settings: { strategy: { value: "oldest", source: "built-in", invalidAnnotation: EVIL } },
    candidates: [{
      pod: "web-0",
      uid: "u0",
      phase: "Running",
      ready: true,
      readySince: new Date(NOW - 60_000).toISOString(),
      ip: "10.0.0.1",
      terminating: false,
      priority: { value: 0 },
      health: { state: "unhealthy", reason: EVIL },
      eligible: true,
      rank: 1,
      leadsNow: true,
      wouldLead: true,
      verdict: "leader, kept",
    }],
    currentLeaders: ["web-0"],
    decision: { leaders: ["web-0"], routes: ["web-0"], keepsCurrent: true },
    ports: [],
    healthSource: { reachable: true, message: EVIL },
    warnings: [{ kind: "InvalidAnnotation", message: `annotation zen-lead.io/strategy="${EVIL}"` }],
  };
}

const change = (i: number, latencyMs?: number, failover = true): LeaderChange => ({
  service: "ns/web",
  at: new Date(NOW - (10 - i) * 1000).toISOString(),
  from: `web-${i}`,
  to: `web-${i + 1}`,
  reason: failover ? "notReady" : "strategy",
  failover,
  latencyMs,
});

Deno.test("a Service panel escapes every value from the cluster", async () => {
  const out = String(
    await servicePanel(
      { key: "ns/web", explanation: explanation(), changes: [change(1, 3)], probes: [] },
      NOW,
    ),
  );
  assert.ok(!out.includes("<script>"), "no raw script tag");
  assert.ok(!out.includes("<img"), "no raw img tag");
  assert.ok(out.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(out.includes("&quot;&gt;&lt;script&gt;"), "quotes are escaped too (attribute break-out)");
  assert.match(
    out,
    /<section id="svc:ns\/web" class="service" aria-labelledby="svc:ns\/web:h" data-leader="web-0">/,
  );
  const rows = String(
    await summaryRows([{ key: "ns/web", explanation: explanation(), changes: [], probes: [] }], NOW),
  );
  assert.match(rows, /<a href="#svc:ns\/web">ns\/web<\/a>/);
});

Deno.test("latency chart: one bar per measured change, failovers marked, described in words", async () => {
  assert.deepEqual([0, 0.3, 1, 3, 7, 12, 99, 101].map(niceMax), [1, 0.5, 1, 5, 10, 20, 100, 200]);
  const svg = String(await latencyChart([change(1, 4), change(2, undefined), change(3, 12, false)], "c"));
  assert.equal([...svg.matchAll(/<rect /g)].length, 2);
  assert.equal([...svg.matchAll(/class="bar failover"/g)].length, 1);
  assert.match(svg, /role="img" aria-labelledby="c-t"/);
  assert.match(
    svg,
    /<title id="c-t">Latency of the last 2 leader changes: median 4\.0 ms, highest 12\.0 ms\.<\/title>/,
  );
  assert.match(svg, />20 ms</, "the axis tops out at a round value above the highest bar");
  assert.match(String(await latencyChart([], "c")), /No leader change with a measured latency yet/);
});

Deno.test("leader history keeps the last changes per Service and tells listeners", () => {
  const h = new LeaderHistory();
  const seen: string[] = [];
  const off = h.onRecord((c) => seen.push(c.to ?? ""));
  for (let i = 0; i < CHANGES_PER_SERVICE + 5; i++) h.record(change(i, i));
  assert.equal(h.of("ns/web").length, CHANGES_PER_SERVICE);
  assert.equal(h.of("ns/web")[0].from, "web-5", "the oldest go first");
  assert.equal(seen.length, CHANGES_PER_SERVICE + 5);
  off();
  h.record(change(99, 1));
  assert.equal(seen.length, CHANGES_PER_SERVICE + 5);
  h.forget("ns/web");
  assert.deepEqual(h.of("ns/web"), []);
  assert.equal(h.size, 0);

  // The total bound drops whole Services, least recently changed first.
  const small = new LeaderHistory(5);
  for (const svc of ["a", "b", "c"]) {
    for (let i = 0; i < 2; i++) small.record({ ...change(i, 1), service: svc });
  }
  assert.deepEqual([small.of("a").length, small.of("b").length, small.of("c").length, small.size], [
    0,
    2,
    2,
    4,
  ]);
});

Deno.test("leader history drops changes past the age bound but keeps each Service's newest", () => {
  const h = new LeaderHistory(20_000, 15 * 60_000);
  const at = (min: number, service: string) => ({
    ...change(0, 1),
    service,
    at: new Date(NOW + min * 60_000).toISOString(),
  });
  for (let m = 0; m < 10; m++) h.record(at(m, "ns/a"));
  h.record(at(0, "ns/b"));
  assert.equal(h.size, 11);
  h.record(at(30, "ns/c"));
  assert.deepEqual([h.of("ns/a").length, h.of("ns/b").length, h.of("ns/c").length], [1, 1, 1]);
  assert.equal(h.of("ns/a")[0].at, new Date(NOW + 9 * 60_000).toISOString(), "the newest one stays");
  assert.equal(h.size, 3);
});

Deno.test("ages read like kubectl's", () => {
  assert.deepEqual([450, 5_000, 65_000, 3_600_000 + 120_000, 2 * 86_400_000 + 3_600_000].map(age), [
    "450ms",
    "5s",
    "1m5s",
    "1h2m",
    "2d1h",
  ]);
});

Deno.test("explain/status flags: values are checked and a bad one names what is valid", () => {
  const o = parseCliArgs(
    ["ns/web", "-o", "yaml", "--config-map=ops/zl", "--status-url", "http://h:1/status"],
    {},
  );
  assert.deepEqual(
    [o.positional, o.output, o.configMap, o.statusURL],
    [["ns/web"], "yaml", { namespace: "ops", name: "zl" }, "http://h:1/status"],
  );
  assert.equal(parseCliArgs([], { POD_NAMESPACE: "zl", KUBECONFIG: "/k" }).configMap.namespace, "zl");
  assert.equal(parseCliArgs([], { KUBECONFIG: "/k" }).kubeconfig, "/k");
  for (
    const [args, msg] of [
      [["-o", "xml"], /expected one of text, json, yaml, received "xml"/],
      [["-n", "Bad_NS"], /expected a namespace name/],
      [["--status-url", "file:///etc/passwd"], /expected an http\(s\) URL/],
      [["--bogus"], /unknown flag --bogus/],
      [["-o"], /expected a value, received none/],
    ] as const
  ) {
    assert.throws(() => parseCliArgs(args, {}), (e: Error) => e instanceof UsageError && msg.test(e.message));
  }
});

Deno.test("krew manifest: the archive's sha256, krew's fields, and a checked version", async () => {
  const bytes = new TextEncoder().encode("abc");
  const m = await krewManifest("v1.2.3", "https://example.invalid/dl/", [
    { os: "linux", arch: "amd64", file: "dist/zen-lead-linux-amd64.tar.gz", bytes },
  ]);
  assert.equal(m.apiVersion, "krew.googlecontainertools.github.com/v1alpha2");
  assert.equal(m.kind, "Plugin");
  assert.equal(m.metadata.name, "zen-lead");
  assert.deepEqual(m.spec.platforms[0], {
    selector: { matchLabels: { os: "linux", arch: "amd64" } },
    uri: "https://example.invalid/dl/zen-lead-linux-amd64.tar.gz",
    sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    files: [{ from: "kubectl-zen_lead", to: "." }, { from: "LICENSE", to: "." }],
    bin: "kubectl-zen_lead",
  });
  await assert.rejects(krewManifest("1.2", "https://x", []), /expected vMAJOR\.MINOR\.PATCH/);
});

Deno.test("the plugin wrapper quotes its paths for the shell", () => {
  const s = wrapperScript("/opt/it's/deno", "/src/zen lead/");
  assert.match(s, /^#!\/bin\/sh\n/);
  assert.ok(s.includes(`'/opt/it'"'"'s/deno' run -A --quiet --frozen --config '/src/zen lead/deno.json'`));
  assert.ok(s.includes(`'/src/zen lead/main.ts' "$@"`));
});
