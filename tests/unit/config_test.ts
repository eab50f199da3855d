/** config.yaml problems, settings precedence (flag over ConfigMap over default) and flag parsing. */
import assert from "node:assert/strict";
import * as v from "valibot";
import { flagsHelp, parseFlags } from "../../core/config/flags.ts";
import { parseConfigText } from "../../core/config/parse.ts";
import { ConfigReloader, INVALID_CONFIGURATION } from "../../core/config/reloader.ts";
import { defaultSettings, resolveSettings } from "../../core/config/controller_settings.ts";
import type { ConfigMap } from "../../core/kube/types.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PluginKernel } from "../../core/plugin/kernel.ts";
import { parseAllowList } from "../../core/plugin/module_policy.ts";
import type { LeaderStrategy, PluginDefinition } from "../../core/plugin/types.ts";
import { rankOldest } from "../../strategies/mod.ts";

Deno.test("config.yaml problems name the path, what was expected and what was received", () => {
  const result = parseConfigText(
    "controller: { qps: fast, burst: 0.5, logLevel: loud, speed: 1 }\nplugins:\n  - name: http\n    enable: false\n",
  );
  assert.deepEqual(result, {
    ok: false,
    problems: [
      'config.yaml: controller.qps: expected a number > 0 and <= 10000, received "fast"',
      "config.yaml: controller.burst: expected an integer from 1 to 100000, received 0.5",
      'config.yaml: controller.logLevel: expected ("debug" | "info" | "warn" | "error"), received "loud"',
      'config.yaml: controller.speed: unknown key (expected none of that name), received "speed"',
      'config.yaml: plugins[0].enable: unknown key (expected none of that name), received "enable"',
    ],
  });
  assert.deepEqual(parseConfigText("controller:\n  qps: 1\n  qps: 2\n"), {
    ok: false,
    problems: ["config.yaml: not valid YAML: Map keys must be unique at line 3, column 3"],
  });
  assert.deepEqual(parseConfigText("just text"), {
    ok: false,
    problems: ['config.yaml: expected Object, received "just text"'],
  });
  assert.deepEqual(parseConfigText(""), { ok: true, config: {} });
});

Deno.test("settings: a passed flag wins over the ConfigMap, which wins over the default, field by field", () => {
  const defaults = defaultSettings({ POD_NAMESPACE: "ops" });
  const settings = resolveSettings(
    { qps: 5 },
    { qps: 20, burst: 40, logLevel: "debug" },
    defaults,
  );
  assert.equal(settings.qps, 5, "flag");
  assert.equal(settings.burst, 40, "ConfigMap");
  assert.equal(settings.logLevel, "debug", "ConfigMap");
  assert.equal(settings.maxConcurrentReconciles, 10, "default");
  assert.equal(settings.configMapNamespace, "ops", "POD_NAMESPACE");
  assert.equal(settings.configMapName, "zen-lead-config");
});

Deno.test("flags: only what the user passed is returned, in Go and GNU spellings", () => {
  const { settings, help } = parseFlags(
    ["--qps=20", "-burst", "40", "--leader-elect=false", "--watch-namespace", "a, b", "--config-map=ops/zl"],
    {},
  );
  assert.deepEqual(settings, {
    qps: 20,
    burst: 40,
    leaderElect: false,
    watchNamespaces: ["a", "b"],
    configMapName: "zl",
    configMapNamespace: "ops",
  });
  assert.equal(help, false);
  assert.deepEqual(parseFlags([], {}).settings, {});
  assert.equal(parseFlags(["--leader-elect"]).settings.leaderElect, true);
  assert.equal(parseFlags(["--help"]).help, true);
});

Deno.test("flags: env vars apply where no flag was given", () => {
  const env = { ZEN_LEAD_CONFIG_MAP: "custom", WATCH_NAMESPACE: "team-a,team-b" };
  assert.deepEqual(parseFlags([], env).settings, {
    configMapName: "custom",
    watchNamespaces: ["team-a", "team-b"],
  });
  assert.equal(parseFlags(["--config-map=flagged"], env).settings.configMapName, "flagged");
});

Deno.test("flags: an unknown flag or a bad value is a clear error", () => {
  assert.throws(() => parseFlags(["--qsp=5"]), {
    name: "FlagError",
    message: /^unknown flag --qsp; expected one of --metrics-bind-address, .*--qps, .* or --help$/,
  });
  assert.throws(() => parseFlags(["--max-concurrent-reconciles=0"]), {
    message: 'flag --max-concurrent-reconciles: expected an integer from 1 to 1000, received "0"',
  });
  assert.throws(() => parseFlags(["--leader-elect=maybe"]), {
    message: 'flag --leader-elect: expected true or false, received "maybe"',
  });
  assert.throws(() => parseFlags(["--log-level=loud"]), {
    message: 'flag --log-level: expected one of debug, info, warn, error, received "loud"',
  });
  assert.throws(() => parseFlags(["--qps"]), {
    message: "flag --qps: expected a value (API requests per second), received none",
  });
  assert.throws(() => parseFlags([], { WATCH_NAMESPACE: "Team_A" }), {
    message:
      'env WATCH_NAMESPACE: expected comma-separated namespace names ("Team_A" is not one), received "Team_A"',
  });
  assert.throws(() => parseFlags(["stray"]), {
    message: 'argument "stray": expected a flag such as --qps=50 (see --help)',
  });
});

Deno.test("--help lists every flag with its default", () => {
  const text = flagsHelp(defaultSettings());
  assert.match(
    text,
    /--max-cache-size-per-namespace=<value>\n {6}cached leader decisions per namespace \(default 1000\)/,
  );
  assert.match(text, /--config-map=<value> \(env ZEN_LEAD_CONFIG_MAP\)/);
});

// ---- ConfigReloader with fake plugins ----

function strategy(
  name: string,
  schema?: v.GenericSchema<unknown, unknown>,
): PluginDefinition<"strategy", unknown, LeaderStrategy> {
  return {
    name,
    kind: "strategy",
    version: "1.0.0",
    options: v.optional(v.object({ weight: v.optional(v.number(), 1) }), {}),
    setup: ({ options }) => ({
      optionsSchema: schema,
      rank: ({ candidates }) =>
        candidates.map((c) => `${c.pod.uid}:${(options as { weight: number }).weight}`),
    }),
  };
}

function configMap(text: string | undefined, resourceVersion = "1"): ConfigMap {
  return {
    metadata: { name: "zen-lead-config", namespace: "ops", resourceVersion },
    data: text === undefined ? {} : { "config.yaml": text },
  };
}

function reloaderHarness(load?: (name: string, specifier: string) => Promise<PluginDefinition>) {
  const events: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const metrics = new MetricsRegistry();
  const logger = new RootLogger("info", (line) => logs.push(JSON.parse(line)));
  const setups: string[] = [];
  const counted = (def: PluginDefinition): PluginDefinition => ({
    ...def,
    setup: (ctx) => {
      setups.push(def.name);
      return def.setup(ctx);
    },
  });
  const kernel = new PluginKernel({
    lastResortRanking: rankOldest,
    plugins: [
      counted(strategy("oldest")),
      counted(strategy("node-aware", v.object({ preferredZone: v.string() }))),
    ],
    logger,
    metrics,
  });
  const reloader = new ConfigReloader({
    kernel,
    logger,
    metrics,
    recordEvent: (reason, message) => {
      events.push(`${reason}: ${message}`);
    },
    flags: { qps: 7 },
    defaults: defaultSettings(),
    load: load
      ? (name, module) => load(name, module.kind === "file" ? module.path : module.url.href)
      : undefined,
    baseDir: "/srv",
    moduleAllow: parseAllowList("/srv/", "/"),
  });
  const reloadErrors = () => metrics.counter({ name: "zen_lead_config_reload_errors_total", help: "" }).get();
  return { kernel, reloader, events, logs, setups, reloadErrors };
}

Deno.test("no ConfigMap means defaults; flags still win", async () => {
  const { reloader, kernel } = reloaderHarness();
  const result = await reloader.apply(undefined);
  assert.ok(result.ok);
  assert.equal(result.applied.settings.qps, 7);
  assert.equal(result.applied.settings.burst, 100);
  assert.deepEqual(kernel.names("strategy"), ["node-aware", "oldest"]);
});

Deno.test("a valid change applies: settings resolved, only changed plugins re-created, listeners told", async () => {
  const { reloader, kernel, setups } = reloaderHarness();
  const seen: number[] = [];
  reloader.onChange((a) => seen.push(a.settings.burst));
  await reloader.apply(configMap("controller: { qps: 99, burst: 10 }\n", "1"));
  assert.deepEqual(setups, ["oldest", "node-aware"]);
  setups.length = 0;

  const result = await reloader.apply(
    configMap("controller: { burst: 20 }\nplugins:\n  - name: node-aware\n    options: { weight: 3 }\n", "2"),
  );
  assert.ok(result.ok);
  assert.equal(result.applied.settings.qps, 7, "the flag, not the ConfigMap's 99");
  assert.equal(result.applied.settings.burst, 20);
  assert.deepEqual(result.changes, [{ name: "node-aware", kind: "strategy", action: "recreated" }]);
  assert.deepEqual(setups, ["node-aware"]);
  assert.deepEqual(seen, [10, 20]);
  assert.equal(reloader.current?.resourceVersion, "2");

  const rank = kernel.strategy("node-aware").rank;
  assert.deepEqual(
    rank({
      service: { namespace: "n", name: "s", uid: "u", annotations: {} },
      candidates: [{
        pod: {
          namespace: "n",
          name: "p",
          uid: "p1",
          ip: "",
          labels: {},
          annotations: {},
          createdAt: 0,
          ports: [],
        },
        priority: 0,
      }],
      currentLeaders: [],
      count: 1,
      options: {},
      seed: "",
      now: 0,
    }),
    ["p1:3"],
  );

  const again = await reloader.apply(
    configMap("controller: { burst: 20 }\nplugins:\n  - name: node-aware\n    options: { weight: 3 }\n", "3"),
  );
  assert.ok(again.ok && again.unchanged, "a resync of the same text does nothing");
});

Deno.test("an invalid change is refused with the exact reason, an event and a metric; the old one stays", async () => {
  const { reloader, kernel, events, logs, reloadErrors } = reloaderHarness();
  await reloader.apply(configMap("defaults: { strategy: node-aware }\n", "1"));
  const result = await reloader.apply(
    configMap("plugins:\n  - name: node-aware\n    options: { weight: heavy }\n", "2"),
  );
  const reason = 'plugin "node-aware" (strategy): options.weight: expected number, received "heavy"';
  assert.deepEqual(result, { ok: false, reason, problems: [reason] });
  assert.deepEqual(events, [
    `${INVALID_CONFIGURATION}: config.yaml refused, the previous configuration stays in force: ${reason}`,
  ]);
  assert.equal(reloadErrors(), 1);
  const warn = logs.find((l) => l.level === "warn");
  assert.equal(warn?.reason, reason);
  assert.equal(warn?.kept, "resourceVersion 1");
  assert.equal(reloader.current?.resourceVersion, "1");
  assert.equal(reloader.current?.config.defaults?.strategy, "node-aware");
  assert.deepEqual(kernel.names("strategy"), ["node-aware", "oldest"]);
});

Deno.test("defaults must name enabled plugins and pass their schemas", async () => {
  const { reloader } = reloaderHarness();
  const result = await reloader.apply(configMap(
    [
      "defaults:",
      "  strategy: zone-first",
      "  healthCheck: http:8080/healthz",
      "  strategyOptions:",
      "    node-aware: { preferredZone: 5 }",
      "plugins:",
      "  - name: node-aware",
    ].join("\n"),
  ));
  assert.ok(!result.ok);
  // names are checked before anything is imported or set up; schemas once the plugins are staged.
  assert.deepEqual(result.problems, [
    'config.yaml: defaults.strategy: expected one of the enabled strategy plugins [node-aware, oldest], received "zone-first"',
    'config.yaml: defaults.healthCheck: expected one of the enabled health plugins [], received "http"',
  ]);
  const options = await reloader.apply(
    configMap("defaults:\n  strategyOptions:\n    node-aware: { preferredZone: 5 }\n"),
  );
  assert.deepEqual(options.ok ? [] : options.problems, [
    "config.yaml: defaults.strategyOptions.node-aware.preferredZone: expected string, received 5",
  ]);
});

Deno.test("a ConfigMap without config.yaml but with other keys is refused", async () => {
  const { reloader } = reloaderHarness();
  const result = await reloader.apply({ metadata: { name: "zen-lead-config" }, data: { "config.yml": "" } });
  assert.deepEqual(result, {
    ok: false,
    reason: "data: expected the key config.yaml, received keys [config.yml]",
    problems: ["data: expected the key config.yaml, received keys [config.yml]"],
  });
});

Deno.test("module entries are loaded; a load failure refuses the version naming the entry", async () => {
  const loaded: string[] = [];
  const { reloader, kernel } = reloaderHarness((name, specifier) => {
    loaded.push(`${name}@${specifier}`);
    if (specifier === "/srv/gone.ts") {
      return Promise.reject(new Error("plugin module ./gone.ts: cannot import"));
    }
    return Promise.resolve(strategy(name));
  });
  const ok = await reloader.apply(configMap("plugins:\n  - name: mine\n    module: ./mine.ts\n"));
  assert.ok(ok.ok);
  assert.ok(kernel.has("strategy", "mine"));
  const bad = await reloader.apply(configMap("plugins:\n  - name: gone\n    module: ./gone.ts\n", "2"));
  assert.deepEqual(bad.ok ? [] : bad.problems, [
    "config.yaml: plugins[0] (gone): plugin module ./gone.ts: cannot import",
  ]);
  assert.ok(kernel.has("strategy", "mine"), "the last good plugins stay");
  assert.deepEqual(loaded, ["mine@/srv/mine.ts", "gone@/srv/gone.ts"]);
});

Deno.test("nothing is imported before the whole version validated: a refused version runs no module", async () => {
  const loaded: string[] = [];
  const { reloader, events } = reloaderHarness((name, specifier) => {
    loaded.push(`${name}@${specifier}`);
    return Promise.resolve(strategy(name));
  });
  const mine = "plugins:\n  - name: mine\n    module: /srv/mine.ts\n";
  const refused = [
    [
      mine + "  - name: inline\n    module: 'data:text/javascript,export default 1'\n",
      /data: modules never load/,
    ],
    [
      mine + "  - name: far\n    module: /tmp/far.ts\n",
      /under none of the directories --plugin-module-allow/,
    ],
    [mine + "  - name: web\n    module: http://127.0.0.1:1/x.js\n", /under none of the prefixes/],
    [
      mine + "defaults:\n  strategy: nope\n",
      /defaults\.strategy: expected one of the enabled strategy plugins/,
    ],
    [mine + "controller:\n  qps: -1\n", /controller\.qps/],
    [mine + "  - name: oldest\n    module: /srv/oldest.ts\n", /a name already taken by the built-in/],
    [mine + "  - name: mine\n    module: /srv/mine.ts\n", /listed twice/],
  ] as const;
  for (const [i, [text, why]] of refused.entries()) {
    const r = await reloader.apply(configMap(text, String(i + 1)));
    assert.equal(r.ok, false, text);
    assert.match(r.ok ? "" : r.reason, why);
  }
  assert.deepEqual(loaded, [], "no module of a refused version was imported");
  assert.equal(events.length, refused.length);
  assert.match(
    events[0],
    /^InvalidConfiguration: .*plugins\[1\] \(inline\): module "data:text\/javascript,export default 1" refused/,
  );
  assert.ok((await reloader.apply(configMap(mine, "99"))).ok);
  assert.deepEqual(loaded, ["mine@/srv/mine.ts"]);
});

Deno.test("without --plugin-module-allow a module entry is refused and nothing is imported", async () => {
  const loaded: string[] = [];
  const metrics = new MetricsRegistry();
  const logger = new RootLogger("error", () => {});
  const events: string[] = [];
  const reloader = new ConfigReloader({
    kernel: new PluginKernel({
      plugins: [strategy("oldest")],
      lastResortRanking: rankOldest,
      logger,
      metrics,
    }),
    logger,
    metrics,
    recordEvent: (reason, message) => void events.push(`${reason}: ${message}`),
    flags: {},
    defaults: defaultSettings(),
    load: (name) => {
      loaded.push(name);
      return Promise.resolve(strategy(name));
    },
  });
  const r = await reloader.apply(configMap("plugins:\n  - name: mine\n    module: ./mine.ts\n"));
  assert.equal(r.ok, false);
  assert.match(
    events[0],
    /module "\.\/mine\.ts" refused: loading plugin modules from the ConfigMap is off; .*--plugin-module-allow=/,
  );
  assert.deepEqual(loaded, []);
});
