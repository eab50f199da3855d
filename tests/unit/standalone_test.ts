/** setUpPlugin: a plugin set up outside the controller validates options as the kernel does. */
import assert from "node:assert/strict";
import * as v from "valibot";
import { defineExporter, defineStrategy, setUpPlugin } from "../../mod.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";

const withDefault = defineStrategy({
  name: "with-default",
  version: "1.0.0",
  options: v.object({ order: v.optional(v.picklist(["oldest", "newest"]), "oldest") }),
  setup: ({ options }) => ({ rank: () => [options.order] }),
});

Deno.test("absent options are {} so the schema's defaults apply, as in the kernel", async () => {
  const strategy = await setUpPlugin(withDefault);
  assert.deepEqual(strategy.rank(), ["oldest"]);
});

Deno.test("options the schema refuses are refused with the plugin and the field named", async () => {
  await assert.rejects(
    setUpPlugin(withDefault, { order: "sideways" }),
    (error: Error) =>
      error.name === "PluginConfigError" &&
      /plugin "with-default" \(strategy\): options\.order/.test(error.message),
  );
});

Deno.test("a plugin without a schema refuses options, and reads the metrics registry it is given", async () => {
  const counting = defineExporter({
    name: "counting",
    version: "1.0.0",
    setup: ({ metrics }) => ({ render: () => String(metrics.collect().length) }),
  });
  await assert.rejects(setUpPlugin(counting, { any: 1 }), /expected none \(this plugin takes no options\)/);
  const metrics = new MetricsRegistry();
  metrics.counter({ name: "zen_lead_test_total", help: "A test counter." });
  const exporter = await setUpPlugin(counting, undefined, { metrics });
  assert.equal(await exporter.render?.(), "1");
});

Deno.test("ctx.dependency returns a given instance and names the given ones for any other", async () => {
  const dependent = defineStrategy({
    name: "dependent",
    version: "1.0.0",
    dependsOn: ["base"],
    setup: (ctx) => {
      const base = ctx.dependency<{ uid: string }>("base");
      assert.throws(() => ctx.dependency("other"), /dependency\("other"\) was not given; given: \[base\]/);
      return { rank: () => [base.uid] };
    },
  });
  const strategy = await setUpPlugin(dependent, undefined, { dependencies: { base: { uid: "uid-1" } } });
  assert.deepEqual(strategy.rank(), ["uid-1"]);
});
