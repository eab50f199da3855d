/**
 * No input can kill or spin the controller: hostile YAML is a refusal, not a throw; every number has
 * a range enforced alike in annotations, the ConfigMap and flags; timers clamp at 2^31-1 ms; a requeue is never
 * sooner than 100 ms.
 */
import assert from "node:assert/strict";
import { parseFlags } from "../../core/config/flags.ts";
import { MAX_ALIASES, parseConfigText } from "../../core/config/parse.ts";
import { RANGES, rangeText } from "../../core/config/ranges.ts";
import { parseServiceSettings, type SettingsContext } from "../../core/leader/service_settings.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { ManualClock } from "../_clock.ts";
import { WorkQueue } from "../../core/queue/workqueue.ts";
import { clampDelay, MAX_TIMER_MS, REQUEUE_FLOOR_MS, timeoutSignal } from "../../core/timers.ts";
import type { HealthChecker } from "../../core/plugin/types.ts";

const problems = (text: string) => {
  const r = parseConfigText(text);
  assert.equal(r.ok, false, `expected ${JSON.stringify(text.slice(0, 60))} to be refused`);
  return r.ok ? [] : r.problems;
};

Deno.test("an alias without its anchor is a refusal naming it, not a throw", () => {
  assert.deepEqual(problems("controller: *nope"), [
    "config.yaml: not valid YAML: Unresolved alias (the anchor must be set before the alias): nope",
  ]);
});

Deno.test("an alias bomb is refused once the alias count passes the cap", () => {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
  }
  const t0 = performance.now();
  const [p] = problems(levels.join("\n"));
  assert.match(p, /not valid YAML: Excessive alias count indicates a resource exhaustion attack/);
  assert.ok(performance.now() - t0 < 1000);
  // Fewer aliases than the cap are plain YAML.
  const ok = parseConfigText(
    `x: &x {}\n${Array.from({ length: MAX_ALIASES - 1 }, (_, i) => `k${i}: *x`).join("\n")}`,
  );
  assert.equal(ok.ok, false, "unknown keys, but not a YAML error");
  assert.doesNotMatch(ok.ok ? "" : ok.problems[0], /alias/);
});

Deno.test("YAML 1.1 tags (!!set, !!binary, !!timestamp) and unknown tags are refused, not silently emptied", () => {
  assert.match(problems("controller: !!set {qps, burst}")[0], /controller|tag/i);
  assert.match(problems("controller:\n  qps: !!binary aGk=")[0], /tag|controller\.qps/i);
  assert.match(problems("x: !foo 1")[0], /Unresolved tag: !foo/);
});

Deno.test("deep nesting and __proto__ keys neither throw nor touch Object.prototype", () => {
  const deep = "plugins:\n  - name: ready\n    options: " + "[".repeat(5000) + "]".repeat(5000);
  assert.match(problems(deep)[0], /levels of nesting|nesting too deep/);
  const proto = problems("__proto__: { polluted: true }\nconstructor: { prototype: { polluted: true } }");
  assert.ok(proto.some((p) => p.includes("__proto__")), proto.join("; "));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("absurd ConfigMap numbers are refused naming the field, the range and the value", () => {
  assert.deepEqual(
    problems(
      "controller:\n  qps: .inf\n  apiTimeoutSeconds: 3000000\n  cacheUpdateTimeoutSeconds: 1e12\n  burst: .nan\n",
    ),
    [
      `config.yaml: controller.qps: expected ${rangeText(RANGES.qps)}, received Infinity`,
      `config.yaml: controller.burst: expected ${rangeText(RANGES.burst)}, received NaN`,
      `config.yaml: controller.cacheUpdateTimeoutSeconds: expected a number from 0.1 to 600 seconds, received 1000000000000`,
      "config.yaml: controller.apiTimeoutSeconds: expected a number from 0.1 to 600 seconds, received 3000000",
    ],
  );
});

Deno.test("flags refuse the same numbers with the same ranges", () => {
  for (
    const [flag, message] of [
      ["--qps=Infinity", `flag --qps: expected ${rangeText(RANGES.qps)}, received "Infinity"`],
      ["--api-timeout-seconds=3000000", 'expected a number from 0.1 to 600 seconds, received "3000000"'],
      ["--cache-update-timeout-seconds=1e12", 'expected a number from 0.1 to 600 seconds, received "1e12"'],
      ["--burst=1e9", 'flag --burst: expected an integer from 1 to 100000, received "1e9"'],
      ["--max-concurrent-reconciles=NaN", "expected an integer from 1 to 1000"],
    ]
  ) {
    assert.throws(() => parseFlags([flag]), (e: Error) => e.message.includes(message), flag);
  }
  assert.equal(parseFlags(["--qps=10000", "--api-timeout-seconds=600"]).settings.qps, 10000);
});

const ready: HealthChecker = {
  passive: true,
  check: () => Promise.resolve({ healthy: true, reason: "Ready" }),
};
const ctx: SettingsContext = {
  defaultStrategy: "oldest",
  defaultSticky: true,
  defaultHealthCheck: "ready",
  defaultFailMode: "open",
  strategyDefaults: {},
  strategies: ["oldest", "newest"],
  strategyOptionsSchema: () => undefined,
  healthTypes: ["ready"],
  healthChecker: (t) => t === "ready" ? ready : undefined,
  backends: [],
};

Deno.test("annotations: min-ready-duration above 24h, a huge leader count are refused; the field keeps its value", () => {
  const r = parseServiceSettings({
    "zen-lead.io/min-ready-duration": "1000h",
    "zen-lead.io/leader-count": "1e9",
  }, ctx);
  assert.equal(r.settings.minReadyMs, 0, "the default, not 1000h");
  assert.equal(r.settings.count, 1);
  assert.deepEqual(r.errors.map((e) => e.message), [
    `annotation zen-lead.io/leader-count: expected an integer from 1 to 64; received "1e9"`,
    `annotation zen-lead.io/min-ready-duration: expected a Go duration from 0s to 24h such as "30s", "1m30s", ` +
    `"500ms"; received "1000h"`,
  ]);
  assert.equal(
    parseServiceSettings({ "zen-lead.io/min-ready-duration": "24h" }, ctx).settings.minReadyMs,
    86_400_000,
  );
});

Deno.test("annotation messages put the field and the valid choices first and cut the value to ~200 chars", () => {
  const huge = "x".repeat(20_000);
  const r = parseServiceSettings({ "zen-lead.io/strategy": huge, "zen-lead.io/health-check": huge }, ctx);
  for (const e of r.errors) {
    assert.ok(e.message.length < 700, `${e.message.length} characters`);
    assert.match(e.message, /^annotation zen-lead\.io\/(strategy|health-check): (valid choices|expected)/);
    assert.match(e.message, /…\(\d+ more characters\)$/);
  }
});

Deno.test("timers clamp at 2^31-1 ms: huge and infinite delays neither fire at once nor throw", async () => {
  assert.equal(clampDelay(3e9), MAX_TIMER_MS);
  assert.equal(clampDelay(Infinity), MAX_TIMER_MS);
  assert.equal(clampDelay(NaN), 0);
  assert.equal(clampDelay(-5), 0);
  const signals = [timeoutSignal(3e9), timeoutSignal(Infinity)];
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    signals.map((s) => s.aborted),
    [false, false],
    "AbortSignal.timeout(3e9) aborts after ~12 ms",
  );
});

Deno.test("a requeue is never sooner than 100 ms, whatever the handler asks", async () => {
  const clock = new ManualClock();
  let runs = 0;
  const queue = new WorkQueue({
    name: "floor",
    workers: 1,
    handler: () => {
      runs++;
      return Promise.resolve({ requeueAfterMs: runs % 2 ? 0 : 1 });
    },
    logger: new RootLogger("error", () => {}),
    metrics: new MetricsRegistry(),
    clock,
  });
  queue.add("k");
  await clock.advance(0);
  assert.equal(runs, 1);
  await clock.advance(REQUEUE_FLOOR_MS - 1);
  assert.equal(runs, 1, "not within the floor");
  await clock.advance(1);
  assert.equal(runs, 2);
  await clock.advance(10 * REQUEUE_FLOOR_MS);
  assert.equal(runs, 12, "one run per 100 ms at most");
  await queue.shutdown(0);
});
