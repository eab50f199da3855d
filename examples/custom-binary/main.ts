/**
 * The entry file of a zen-lead binary with a plugin of your own compiled in:
 *
 *   npx -y deno@2.9.6 compile -A --output dist/zen-lead-custom examples/custom-binary/main.ts
 *
 * The plugin then runs like a built-in: enabled by default, configured under `plugins:` in the ConfigMap by its
 * name (no `module:` needed), chosen per Service with `zen-lead.io/strategy: zone-first`.
 */
import { runController } from "../../main.ts";
import zoneFirst from "../zone-first-strategy.ts";

if (import.meta.main) {
  await runController(Deno.args, [zoneFirst]);
}
