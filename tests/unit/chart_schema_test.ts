import assert from "node:assert/strict";
import { controllerSection, defaultsSection, pluginEntry } from "../../core/config/schema.ts";

const schema = JSON.parse(
  await Deno.readTextFile(new URL("../../deploy/helm/zen-lead/values.schema.json", import.meta.url)),
);

/** Keys a valibot strictObject accepts. */
const keysOf = (s: { entries: Record<string, unknown> }) => Object.keys(s.entries).sort();

Deno.test("chart values.schema.json knows exactly the controller's config keys (controller, defaults, plugins)", () => {
  assert.deepEqual(Object.keys(schema.properties.controller.properties).sort(), keysOf(controllerSection));
  assert.deepEqual(
    Object.keys(schema.properties.config.properties.defaults.properties).sort(),
    keysOf(defaultsSection),
  );
  assert.deepEqual(
    Object.keys(schema.properties.config.properties.plugins.items.properties).sort(),
    keysOf(pluginEntry),
  );
});
