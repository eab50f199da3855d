import assert from "node:assert/strict";
import * as v from "valibot";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PluginConfigError } from "../../core/plugin/errors.ts";
import { PluginKernel } from "../../core/plugin/kernel.ts";
import { dependencyOrder } from "../../core/plugin/order.ts";
import { registeredPlugins, registerPlugin } from "../../core/plugin/registry.ts";
import type {
  BackendStatus,
  Candidate,
  CloudBackend,
  HealthChecker,
  LeaderStrategy,
  MetricsExporter,
  PluginDefinition,
  PodView,
  StrategyInput,
} from "../../core/plugin/types.ts";
import { oldest as builtinOldest, rankOldest } from "../../strategies/mod.ts";
import { podView } from "../harness/pod_view.ts";
import { rejectionOf } from "./_errors.ts";

function pod(name: string, createdAt: number): PodView {
  return podView(name, { createdAt });
}

function input(options: unknown = {}): StrategyInput {
  const candidates: Candidate[] = [pod("b", 2), pod("c", 3), pod("a", 1)].map((p) => ({
    pod: p,
    priority: 0,
  }));
  return {
    service: { namespace: "ns", name: "svc", uid: "svc-uid", annotations: {} },
    candidates,
    currentLeaders: [],
    count: 1,
    options,
    seed: "s",
    now: 10,
  };
}

/** Ranks oldest first; the fallback strategy of these tests. */
const oldest: PluginDefinition<"strategy", unknown, LeaderStrategy> = {
  name: "oldest",
  kind: "strategy",
  version: "1.0.0",
  setup: () => ({
    rank: ({ candidates }) =>
      [...candidates].sort((a, b) => a.pod.createdAt - b.pod.createdAt).map((c) => c.pod.uid),
  }),
};

/** Ranks newest first, so its answer differs from the fallback's. */
function newest(name = "newest"): PluginDefinition<"strategy", unknown, LeaderStrategy> {
  return {
    name,
    kind: "strategy",
    version: "1.0.0",
    setup: () => ({
      rank: ({ candidates }) =>
        [...candidates].sort((a, b) => b.pod.createdAt - a.pod.createdAt).map((c) => c.pod.uid),
    }),
  };
}

const ready: PluginDefinition<"health", unknown, HealthChecker> = {
  name: "ready",
  kind: "health",
  version: "1.0.0",
  setup: () => ({ passive: true, check: () => Promise.resolve({ healthy: true, reason: "Ready" }) }),
};

function harness(plugins: PluginDefinition[], level: "debug" | "info" = "info") {
  const lines: Record<string, unknown>[] = [];
  const logger = new RootLogger(level, (line) => lines.push(JSON.parse(line)));
  const metrics = new MetricsRegistry();
  const kernel = new PluginKernel({ plugins, lastResortRanking: rankOldest, logger, metrics });
  const errors = (plugin: string, kind: string, phase: string) =>
    metrics.counter({
      name: "zen_lead_plugin_errors_total",
      help: "",
      labelNames: ["plugin", "kind", "phase"],
    })
      .get({ plugin, kind, phase });
  return { kernel, lines, metrics, errors };
}

/** The PluginConfigError `fn` throws. */
function thrownConfigError(fn: () => unknown): PluginConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PluginConfigError, `expected PluginConfigError, got ${error}`);
    return error;
  }
  throw new Error("expected a PluginConfigError");
}

async function problemsOf(p: Promise<unknown>): Promise<readonly string[]> {
  return (await rejectionOf(p, PluginConfigError, "the configuration to be refused")).problems;
}

Deno.test("built-ins register like any plugin and run enabled by default", async () => {
  const { kernel } = harness([oldest, newest(), ready]);
  const change = await kernel.configure([]);
  assert.deepEqual(change.changes.map((c) => `${c.action} ${c.kind} ${c.name}`), [
    "added strategy oldest",
    "added strategy newest",
    "added health ready",
  ]);
  assert.deepEqual(kernel.names("strategy"), ["newest", "oldest"]);
  assert.ok(kernel.has("strategy", "newest"));
  assert.ok(!kernel.has("health", "newest"));
  assert.deepEqual(kernel.strategy("newest").rank(input()), ["uid-c", "uid-b", "uid-a"]);
  assert.deepEqual(kernel.status().map((s) => s.state), ["running", "running", "running"]);
});

Deno.test("a built-in turned off is no longer a valid choice", async () => {
  const { kernel } = harness([oldest, newest()]);
  await kernel.configure([{ name: "newest", enabled: false }]);
  assert.deepEqual(kernel.names("strategy"), ["oldest"]);
});

Deno.test("the default of a kind cannot be turned off", async () => {
  const { kernel } = harness([oldest]);
  assert.deepEqual(await problemsOf(kernel.configure([{ name: "oldest", enabled: false }])), [
    'plugins[0] (oldest): enabled: false is not allowed for "oldest", the default strategy that takes over ' +
    "when another strategy fails; expected it enabled",
  ]);
});

Deno.test("registerPlugin collects plugins for the next kernel", () => {
  const before = registeredPlugins().length;
  registerPlugin(newest("registered"));
  assert.deepEqual(registeredPlugins().length, before + 1);
  assert.deepEqual(registeredPlugins().at(-1)?.name, "registered");
});

Deno.test("duplicate plugin names are rejected at registration", () => {
  const error = thrownConfigError(() => harness([oldest, newest("oldest")]));
  assert.deepEqual(
    error.message,
    'plugin "oldest": the name is already registered by a strategy plugin (version 1.0.0); expected unique ' +
      "plugin names, received a second strategy plugin (version 1.0.0)",
  );
});

Deno.test("a malformed definition is rejected with what is wrong", () => {
  const broken = { name: "Bad_Name", kind: "router", version: "", setup: 1 } as unknown as PluginDefinition;
  const error = thrownConfigError(() => harness([broken]));
  assert.deepEqual(error.problems, [
    'plugin "Bad_Name": name: expected /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, received "Bad_Name"',
    'plugin "Bad_Name": kind: expected ("strategy" | "health" | "backend" | "exporter"), received "router"',
    'plugin "Bad_Name": version: expected length >=1, received length 0',
    'plugin "Bad_Name": setup: expected a function, received 1',
  ]);
});

Deno.test("a module plugin may not take a built-in's name, nor be listed twice", async () => {
  const { kernel } = harness([oldest]);
  assert.deepEqual(
    await problemsOf(kernel.configure([{ name: "oldest", definition: newest("oldest"), source: "./x.ts" }])),
    [
      'plugins[0] (oldest): module ./x.ts defines "oldest", a name already taken by the built-in strategy ' +
      "plugin; expected a unique name",
    ],
  );
  assert.deepEqual(await problemsOf(kernel.configure([{ name: "oldest" }, { name: "oldest" }])), [
    'plugins[1] (oldest): the name "oldest" is listed twice; expected each plugin once',
  ]);
  assert.deepEqual(await problemsOf(kernel.configure([{ name: "nope" }])), [
    'plugins[0] (nope): no plugin named "nope"; expected a built-in (oldest) or a "module" to load it from',
  ]);
});

const http: PluginDefinition<"health", { port: number; path: string; timeoutMs: number }, HealthChecker> = {
  name: "http",
  kind: "health",
  version: "2.1.0",
  options: v.object({
    port: v.pipe(v.number(), v.integer(), v.minValue(1)),
    path: v.optional(v.string(), "/healthz"),
    timeoutMs: v.optional(v.number(), 1000),
  }),
  setup: ({ options }) => ({
    check: () => Promise.resolve({ healthy: true, reason: `probe ${options.port}${options.path}` }),
  }),
};

Deno.test("options failing a plugin's schema are refused with plugin, path, expected and received", async () => {
  const { kernel } = harness([oldest, http]);
  const problems = await problemsOf(
    kernel.configure([{ name: "http", options: { port: "eighty", timeoutMs: true } }]),
  );
  assert.deepEqual(problems, [
    'plugin "http" (health): options.port: expected number, received "eighty"',
    'plugin "http" (health): options.timeoutMs: expected number, received true',
  ]);
  assert.deepEqual(kernel.names("health"), [], "nothing was applied");
});

Deno.test("options given to a plugin that takes none are refused", async () => {
  const { kernel } = harness([oldest]);
  assert.deepEqual(await problemsOf(kernel.configure([{ name: "oldest", options: { fast: true } }])), [
    'plugin "oldest" (strategy): options: expected none (this plugin takes no options), received {"fast":true}',
  ]);
});

Deno.test("a built-in whose schema needs options stays off until the configuration gives them", async () => {
  const { kernel } = harness([oldest, http]);
  await kernel.configure([]);
  assert.ok(!kernel.has("health", "http"));
  await kernel.configure([{ name: "http", options: { port: 8080 } }]);
  assert.ok(kernel.has("health", "http"));
  const result = await kernel.health("http").check(pod("a", 1), {}, new AbortController().signal);
  assert.deepEqual(result, { healthy: true, reason: "probe 8080/healthz" });
});

function tracked(
  name: string,
  log: string[],
  dependsOn?: string[],
): PluginDefinition<"exporter", unknown, MetricsExporter> {
  return {
    name,
    kind: "exporter",
    version: "1.0.0",
    dependsOn,
    setup: (ctx) => {
      for (const dep of dependsOn ?? []) assert.ok(ctx.dependency(dep) !== undefined);
      log.push(`setup ${name}`);
      return { path: `/${name}` };
    },
    close: () => {
      log.push(`close ${name}`);
    },
  };
}

Deno.test("plugins are set up in dependency order and closed in reverse", async () => {
  const log: string[] = [];
  const { kernel } = harness([
    tracked("app", log, ["store", "auth"]),
    tracked("auth", log, ["store"]),
    tracked("store", log),
  ]);
  await kernel.configure([]);
  assert.deepEqual(log, ["setup store", "setup auth", "setup app"]);
  log.length = 0;
  await kernel.close();
  assert.deepEqual(log, ["close app", "close auth", "close store"]);
});

Deno.test("a missing dependency or a cycle is a clear error", async () => {
  const log: string[] = [];
  const missing = harness([tracked("app", log, ["store"])]);
  assert.deepEqual(await problemsOf(missing.kernel.configure([])), [
    'plugin "app": dependsOn names "store", expected an enabled plugin (enabled: app)',
  ]);
  const cycle = dependencyOrder([
    { name: "a", dependsOn: ["b"] },
    { name: "b", dependsOn: ["c"] },
    { name: "c", dependsOn: ["a"] },
  ]);
  assert.deepEqual(cycle, {
    ok: false,
    problems: ["plugins depend on each other in a cycle: a -> b -> c -> a"],
  });
  assert.deepEqual(log, [], "nothing was set up");
});

Deno.test("a plugin that throws at setup is isolated: logged, counted, the default strategy ranks", async () => {
  const broken: PluginDefinition = {
    name: "broken",
    kind: "strategy",
    version: "0.1.0",
    setup: () => {
      throw new Error("no zone data");
    },
  };
  const { kernel, lines, errors } = harness([oldest, broken, ready]);
  await kernel.configure([]);
  assert.deepEqual(kernel.status().find((s) => s.name === "broken"), {
    name: "broken",
    kind: "strategy",
    version: "0.1.0",
    state: "failed",
    error: "no zone data",
  });
  assert.deepEqual(errors("broken", "strategy", "setup"), 1);
  const logged = lines.find((l) => l.plugin === "broken");
  assert.deepEqual(logged?.level, "error");
  assert.deepEqual(logged?.error, "no zone data");
  assert.deepEqual(logged?.takesOver, "oldest");
  assert.ok(kernel.has("strategy", "broken"), "still a valid choice, served by the default");
  assert.deepEqual(kernel.strategy("broken").rank(input()), ["uid-a", "uid-b", "uid-c"]);
  assert.deepEqual(kernel.status().find((s) => s.name === "ready")?.state, "running", "others keep running");
});

Deno.test("a setup returning the wrong shape is a setup failure", async () => {
  const hollow = {
    name: "hollow",
    kind: "strategy",
    version: "1.0.0",
    setup: () => ({}),
  } as PluginDefinition;
  const { kernel, errors } = harness([oldest, hollow]);
  await kernel.configure([]);
  assert.deepEqual(kernel.status()[1].error, "setup returned an object without rank(), expected a strategy");
  assert.deepEqual(errors("hollow", "strategy", "setup"), 1);
});

Deno.test("a dependent of a failed plugin fails too, with the reason", async () => {
  const log: string[] = [];
  const store: PluginDefinition = {
    name: "store",
    kind: "exporter",
    version: "1",
    setup: () => Promise.reject(new Error("disk full")),
  };
  const { kernel, errors } = harness([store, tracked("app", log, ["store"])]);
  await kernel.configure([]);
  assert.deepEqual(kernel.status().map((s) => s.error), [
    "disk full",
    'dependency "store" failed at setup: disk full',
  ]);
  assert.deepEqual(errors("app", "exporter", "setup"), 1);
  assert.deepEqual(log, []);
});

Deno.test("rank throwing at run time: the default ranks, the error is counted, the caller sees no throw", async () => {
  let calls = 0;
  const flaky: PluginDefinition<"strategy", unknown, LeaderStrategy> = {
    name: "flaky",
    kind: "strategy",
    version: "1.0.0",
    setup: () => ({
      rank: () => {
        calls++;
        throw new TypeError("cannot read zone");
      },
    }),
  };
  const { kernel, errors, lines } = harness([oldest, flaky]);
  await kernel.configure([]);
  const strategy = kernel.strategy("flaky");
  assert.deepEqual(strategy.rank(input({ zone: "eu-1" })), ["uid-a", "uid-b", "uid-c"]);
  assert.deepEqual(strategy.rank(input()), ["uid-a", "uid-b", "uid-c"]);
  assert.deepEqual(calls, 2);
  assert.deepEqual(errors("flaky", "strategy", "run"), 2);
  assert.ok(lines.some((l) => l.plugin === "flaky" && l.phase === "run" && l.error === "cannot read zone"));
});

Deno.test("a malformed ranking counts as a run error and the default answers", async () => {
  const liar = {
    name: "liar",
    kind: "strategy",
    version: "1.0.0",
    setup: () => ({ rank: () => "uid-a" }),
  } as unknown as PluginDefinition;
  const { kernel, errors } = harness([oldest, liar]);
  await kernel.configure([]);
  assert.deepEqual(kernel.strategy("liar").rank(input()), ["uid-a", "uid-b", "uid-c"]);
  assert.deepEqual(errors("liar", "strategy", "run"), 1);
});

Deno.test("when the default strategy throws too, the last-resort oldest-first ranking answers", async () => {
  const badOldest = { ...oldest, setup: () => ({ rank: () => [1] }) } as unknown as PluginDefinition;
  const { kernel, errors } = harness([badOldest, newest("flaky")]);
  await kernel.configure([]);
  assert.deepEqual(kernel.strategy("oldest").rank(input()), ["uid-a", "uid-b", "uid-c"]);
  assert.deepEqual(errors("oldest", "strategy", "run"), 1);
});

Deno.test("the last-resort ranking is the oldest strategy's: the same pod leads on equal timestamps", async () => {
  const created = 1_000;
  const tie = (...pods: [name: string, uid: string][]): StrategyInput => ({
    ...input(),
    candidates: pods.map(([name, uid]) => ({ pod: { ...pod(name, created), uid }, priority: 0 })),
  });
  // Equal names (a pod re-created under its name, both in the cache) and names that differ in case only.
  const inputs = [tie(["web-0", "uid-2"], ["web-0", "uid-1"]), tie(["web-a", "uid-a"], ["Web-b", "uid-b"])];
  const real = harness([builtinOldest]);
  await real.kernel.configure([]);
  const throwing = { ...oldest, setup: () => ({ rank: () => [1] }) } as unknown as PluginDefinition;
  const fallback = harness([throwing]);
  await fallback.kernel.configure([]);
  for (const i of inputs) {
    const byOldest = real.kernel.strategy("oldest").rank(i);
    assert.deepEqual(fallback.kernel.strategy("oldest").rank(i), byOldest);
  }
  assert.deepEqual(fallback.errors("oldest", "strategy", "run"), 2, "the last resort answered both times");
});

Deno.test("a throwing health check is answered by the default checker; an aborted one is unhealthy", async () => {
  const bad: PluginDefinition<"health", unknown, HealthChecker> = {
    name: "bad",
    kind: "health",
    version: "1.0.0",
    setup: () => ({
      check: (_pod, _spec, signal) =>
        signal.aborted ? Promise.reject(new Error("aborted")) : Promise.reject(new Error("bug")),
    }),
  };
  const { kernel, errors } = harness([oldest, ready, bad]);
  await kernel.configure([]);
  const checker = kernel.health("bad");
  assert.deepEqual(await checker.check(pod("a", 1), {}, new AbortController().signal), {
    healthy: true,
    reason: "Ready",
  });
  assert.deepEqual(errors("bad", "health", "run"), 1);
  const aborted = new AbortController();
  aborted.abort(new Error("timeout after 1000ms"));
  assert.deepEqual(await checker.check(pod("a", 1), {}, aborted.signal), {
    healthy: false,
    reason: "check aborted: timeout after 1000ms",
  });
  assert.deepEqual(errors("bad", "health", "run"), 1, "a timeout is not the plugin's fault");
});

Deno.test("reload re-creates only plugins whose options changed, and their dependents", async () => {
  const setups: string[] = [];
  const withOptions = (name: string, dependsOn?: string[]): PluginDefinition => ({
    name,
    kind: "exporter",
    version: "1.0.0",
    dependsOn,
    options: v.object({ level: v.optional(v.number(), 1) }),
    setup: () => {
      setups.push(name);
      return {};
    },
  });
  const { kernel } = harness([withOptions("a"), withOptions("b"), withOptions("c", ["b"])]);
  const seen: string[][] = [];
  kernel.onChange((c) => seen.push(c.changes.map((x) => `${x.action} ${x.name}`)));
  await kernel.configure([{ name: "a", options: { level: 1 } }]);
  setups.length = 0;

  // `{}` validates to the same options as `{ level: 1 }`, and key order does not matter: nothing changes.
  const same = await kernel.configure([{ name: "a", options: {} }]);
  assert.deepEqual(same.changes, []);
  assert.deepEqual(setups, []);

  await kernel.configure([{ name: "a", options: {} }, { name: "b", options: { level: 2 } }]);
  assert.deepEqual(setups, ["b", "c"]);
  assert.deepEqual(seen.at(-1), ["recreated b", "recreated c"]);

  setups.length = 0;
  await kernel.configure([{ name: "b", options: { level: 2 } }, { name: "a", enabled: false }]);
  assert.deepEqual(setups, []);
  assert.deepEqual(seen.at(-1), ["removed a"]);
});

Deno.test("a refused staged check keeps the running plugins and closes the new ones", async () => {
  const log: string[] = [];
  const { kernel } = harness([tracked("x", log), tracked("y", log)]);
  await kernel.configure([{ name: "y", enabled: false }]);
  log.length = 0;
  const problems = await problemsOf(
    kernel.configure([], (staged) => staged.names("exporter").includes("y") ? ["y is not welcome"] : []),
  );
  assert.deepEqual(problems, ["y is not welcome"]);
  assert.deepEqual(log, ["setup y", "close y"]);
  assert.deepEqual(kernel.names("exporter"), ["x"]);
});

Deno.test("backend status listeners follow a re-created backend; a throwing apply is isolated", async () => {
  const instances: ((key: string, s: BackendStatus) => void)[] = [];
  const cloud: PluginDefinition<"backend", { region: string }, CloudBackend> = {
    name: "cloud",
    kind: "backend",
    version: "1.0.0",
    options: v.object({ region: v.string() }),
    setup: ({ options }) => {
      const listeners: ((key: string, s: BackendStatus) => void)[] = [];
      // `instances` holds one emitter per instance: it reports a status to every listener attached to it.
      instances.push((key, s) => listeners.forEach((l) => l(key, s)));
      return {
        apply: (d) => {
          if (d.key === "ns/bad") throw new Error(`quota exceeded in ${options.region}`);
        },
        remove: () => {},
        onStatus: (listener) => listeners.push(listener),
      };
    },
  };
  const { kernel, errors } = harness([oldest, cloud]);
  await kernel.configure([{ name: "cloud", options: { region: "eu" } }]);
  assert.deepEqual(kernel.backend("none"), undefined);
  const backend = kernel.backend("cloud")!;
  const got: string[] = [];
  backend.onStatus((key, s) => got.push(`${key}=${s.ingress[0]?.ip}`));
  await backend.apply({ key: "ns/bad", uid: "u", ports: [], leaders: [] });
  assert.deepEqual(errors("cloud", "backend", "run"), 1);

  await kernel.configure([{ name: "cloud", options: { region: "us" } }]);
  assert.deepEqual(instances.length, 2);
  instances[0]("ns/a", { ingress: [{ ip: "1.1.1.1" }] }); // the closed instance: ignored
  instances[1]("ns/a", { ingress: [{ ip: "2.2.2.2" }] });
  assert.deepEqual(got, ["ns/a=2.2.2.2"]);

  // the controller registers its listener again after each reload: it still fires once per status.
  const listener = (key: string, s: BackendStatus) => got.push(`again ${key}=${s.ingress[0]?.ip}`);
  kernel.backend("cloud")!.onStatus(listener);
  kernel.backend("cloud")!.onStatus(listener);
  instances[1]("ns/b", { ingress: [{ ip: "3.3.3.3" }] });
  assert.deepEqual(got, ["ns/a=2.2.2.2", "ns/b=3.3.3.3", "again ns/b=3.3.3.3"]);
});

Deno.test("a failing exporter render answers with the default exporter's text", async () => {
  const prometheus: PluginDefinition<"exporter", unknown, MetricsExporter> = {
    name: "prometheus",
    kind: "exporter",
    version: "1.0.0",
    setup: () => ({ path: "/metrics", render: () => "zen_lead_up 1\n" }),
  };
  const otlp: PluginDefinition<"exporter", unknown, MetricsExporter> = {
    name: "otlp",
    kind: "exporter",
    version: "1.0.0",
    setup: () => ({ path: "/otlp", render: () => Promise.reject(new Error("collector down")) }),
  };
  const { kernel, errors } = harness([prometheus, otlp]);
  await kernel.configure([]);
  const exporters = kernel.exporters();
  assert.deepEqual(exporters.map((e) => e.name), ["prometheus", "otlp"]);
  assert.deepEqual(await exporters[1].render!(), "zen_lead_up 1\n");
  assert.deepEqual(errors("otlp", "exporter", "run"), 1);
});

Deno.test("a closed kernel refuses configure", async () => {
  const { kernel } = harness([oldest]);
  await kernel.configure([]);
  await kernel.close();
  await assert.rejects(() => kernel.configure([]), /plugin kernel is closed/);
});

Deno.test("a guarded checker is passive only when its checker says so; with none running it is", async () => {
  const active: PluginDefinition<"health", unknown, HealthChecker> = {
    name: "active",
    kind: "health",
    version: "1.0.0",
    // Like the http and grpc checkers: `passive` is left unset, so the scheduler must probe it.
    setup: () => ({ check: () => Promise.resolve({ healthy: true, reason: "probed" }) }),
  };
  const { kernel } = harness([ready, active]);
  await kernel.configure([]);
  assert.equal(kernel.health("active").passive, false);
  assert.equal(kernel.health("ready").passive, true);
  await kernel.configure([{ name: "active", enabled: false }]);
  assert.equal(kernel.health("active").passive, true, "ready answers in its place, without probing");
});
