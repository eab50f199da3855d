import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PluginLoadError } from "../../core/plugin/errors.ts";
import { PluginKernel } from "../../core/plugin/kernel.ts";
import { type ApprovedModule, loadPlugin, loadPluginModule } from "../../core/plugin/loader.ts";
import { decideModule, parseAllowList } from "../../core/plugin/module_policy.ts";
import type { Candidate, PluginDefinition, StrategyInput } from "../../core/plugin/types.ts";
import oldest, { rankOldest } from "../../strategies/oldest.ts";
import { podView } from "../harness/pod_view.ts";
import { rejectionOf } from "./_errors.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

async function loadError(p: Promise<unknown>): Promise<string> {
  return (await rejectionOf(p, PluginLoadError, "the module to be refused")).message;
}

/** The loader's options allowing `dir`, and `specifier` as the policy approves it there. */
function approved(
  specifier: string,
  dir: string,
): [ApprovedModule, { allow: ReturnType<typeof parseAllowList> }] {
  const allow = parseAllowList(dir, "/");
  const d = decideModule("test", specifier, undefined, allow, dir);
  if (!d.ok) throw new Error(d.problem);
  return [d, { allow }];
}

const tmpRoot = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "zen-lead-loader-" }));

async function moduleFile(source: string): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: tmpRoot });
  const path = `${dir}/plugin.ts`;
  await Deno.writeTextFile(path, source);
  return path;
}

function candidate(name: string, createdAt: number, zone?: string): Candidate {
  return {
    pod: podView(name, { createdAt }),
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

Deno.test("the example strategy loads from source and ranks through the kernel", async () => {
  const zoneFirst = await loadPlugin(
    "zone-first",
    ...approved("./examples/zone-first-strategy.ts", repoRoot),
  );
  assert.equal(zoneFirst.kind, "strategy");
  const kernel = new PluginKernel({
    plugins: [oldest as PluginDefinition],
    lastResortRanking: rankOldest,
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
  const message = await loadError(loadPluginModule(...approved("./plugins/nope.ts", "/nonexistent")));
  assert.match(message, /^plugin module \/nonexistent\/plugins\/nope\.ts: cannot load: /);
});

Deno.test("a module exporting no plugin says what it exports and what was expected", async () => {
  const path = await moduleFile("export const answer = 42;\nexport function helper() {}\n");
  assert.equal(
    await loadError(loadPluginModule(...approved(path, tmpRoot))),
    `plugin module ${path}: exports no plugin definition; expected a default or named export ` +
      "{ name, kind, version, setup } (e.g. from defineStrategy), received exports [answer, helper]",
  );
});

Deno.test("an export that looks like a plugin but is malformed is refused with each problem", async () => {
  const path = await moduleFile(
    'export default { name: "half", kind: "strategy", setup: "not a function" };\n',
  );
  assert.equal(
    await loadError(loadPluginModule(...approved(path, tmpRoot))),
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
  assert.deepEqual((await loadPluginModule(...approved(`file://${path}`, tmpRoot))).map((p) => p.name), [
    "first",
    "second",
  ]);
  assert.equal((await loadPlugin("second", ...approved(path, tmpRoot))).name, "second");
  assert.equal(
    await loadError(loadPlugin("third", ...approved(path, tmpRoot))),
    `plugin module ${path}: has no plugin named "third"; expected one of its plugins [first, second] as the ` +
      "entry's name",
  );
});
