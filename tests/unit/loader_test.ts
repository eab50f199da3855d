import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PluginLoadError } from "../../core/plugin/errors.ts";
import { PluginKernel } from "../../core/plugin/kernel.ts";
import { loadPlugin, loadPluginModule, resolveModuleUrl } from "../../core/plugin/loader.ts";
import type { Candidate, PluginDefinition, StrategyInput } from "../../core/plugin/types.ts";
import oldest from "../../strategies/oldest.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

async function loadError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof PluginLoadError, `expected PluginLoadError, got ${error}`);
    return error.message;
  }
  throw new Error("expected the module to be refused");
}

async function moduleFile(source: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "zen-lead-loader-" });
  const path = `${dir}/plugin.ts`;
  await Deno.writeTextFile(path, source);
  return path;
}

function candidate(name: string, createdAt: number, zone?: string): Candidate {
  return {
    pod: {
      namespace: "ns",
      name,
      uid: `uid-${name}`,
      ip: "10.0.0.1",
      labels: {},
      annotations: {},
      createdAt,
      ports: [],
    },
    node: zone
      ? { name: `node-${name}`, ready: true, unschedulable: false, taints: [], labels: {}, zone }
      : undefined,
    priority: 0,
  };
}

function input(options: unknown): StrategyInput {
  return {
    service: { namespace: "ns", name: "svc", uid: "svc", annotations: {} },
    candidates: [candidate("a", 1, "us-1"), candidate("b", 2, "eu-1"), candidate("c", 3, "eu-1")],
    currentLeaders: [],
    count: 1,
    options,
    seed: "s",
    now: 10,
  };
}

Deno.test("relative paths resolve against the base directory; URLs stay as they are", () => {
  assert.equal(resolveModuleUrl("./plugins/x.ts", "/srv/app").href, "file:///srv/app/plugins/x.ts");
  assert.equal(resolveModuleUrl("/abs/x.ts", "/srv/app").href, "file:///abs/x.ts");
  assert.equal(resolveModuleUrl("https://example.com/x.ts", "/srv").href, "https://example.com/x.ts");
});

Deno.test("the example strategy loads from source and ranks through the kernel", async () => {
  const zoneFirst = await loadPlugin("zone-first", "./examples/zone-first-strategy.ts", repoRoot);
  assert.equal(zoneFirst.kind, "strategy");
  const kernel = new PluginKernel({
    plugins: [oldest as PluginDefinition],
    logger: new RootLogger("error", () => {}),
    metrics: new MetricsRegistry(),
  });
  await kernel.configure([
    {
      name: "zone-first",
      definition: zoneFirst,
      source: "./examples/zone-first-strategy.ts",
      options: { preferredZone: "eu-1" },
    },
  ]);
  const strategy = kernel.strategy("zone-first");
  assert.equal(strategy.needsNodes, true);
  assert.deepEqual(strategy.rank(input({})), ["uid-b", "uid-c", "uid-a"], "plugin option: eu-1 first");
  assert.deepEqual(
    strategy.rank(input({ preferredZone: "us-1" })),
    ["uid-a", "uid-b", "uid-c"],
    "per Service",
  );
});

Deno.test("a missing module is a clear error naming the specifier", async () => {
  const message = await loadError(loadPluginModule("./plugins/nope.ts", "/nonexistent"));
  assert.match(
    message,
    /^plugin module \.\/plugins\/nope\.ts: cannot import file:\/\/\/nonexistent\/plugins\/nope\.ts: /,
  );
});

Deno.test("a module exporting no plugin says what it exports and what was expected", async () => {
  const path = await moduleFile("export const answer = 42;\nexport function helper() {}\n");
  assert.equal(
    await loadError(loadPluginModule(path)),
    `plugin module ${path}: exports no plugin definition; expected a default or named export ` +
      "{ name, kind, version, setup } (e.g. from defineStrategy), received exports [answer, helper]",
  );
});

Deno.test("an export that looks like a plugin but is malformed is refused with each problem", async () => {
  const path = await moduleFile(
    'export default { name: "half", kind: "strategy", setup: "not a function" };\n',
  );
  assert.equal(
    await loadError(loadPluginModule(path)),
    `plugin module ${path}, export default: version: expected a value (the key is required), received undefined; ` +
      `plugin module ${path}, export default: setup: expected a function, received "not a function"`,
  );
});

Deno.test("named exports are plugins too; the entry's name picks one", async () => {
  const path = await moduleFile(`
const setup = () => ({ rank: () => [] });
export const first = { name: "first", kind: "strategy", version: "1", setup };
export const second = { name: "second", kind: "strategy", version: "1", setup };
export default first;
`);
  assert.deepEqual((await loadPluginModule(`file://${path}`)).map((p) => p.name), ["first", "second"]);
  assert.equal((await loadPlugin("second", path)).name, "second");
  assert.equal(
    await loadError(loadPlugin("third", path)),
    `plugin module ${path}: has no plugin named "third"; expected one of its plugins [first, second] as the ` +
      "entry's name",
  );
});
