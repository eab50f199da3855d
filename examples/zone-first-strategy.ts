/**
 * An example of a user's leader strategy in one file: pods in a preferred zone lead first, oldest first within
 * each group. Load it from source (the controller started with `--plugin-module-allow=./examples/`) by listing
 * it in the ConfigMap:
 *
 * ```yaml
 * plugins:
 *   - name: zone-first
 *     module: ./examples/zone-first-strategy.ts
 *     options: { preferredZone: eu-1 }
 * ```
 *
 * and choose it per Service with `zen-lead.io/strategy: zone-first`; `defaults.strategyOptions.zone-first`
 * (or the Service's strategy options) may override the zone per Service.
 */
import * as v from "valibot";
import { type Candidate, defineStrategy } from "../mod.ts";

/** Plugin options (ConfigMap `options:`) and per-Service options share one shape. */
const zoneOptions = v.object({ preferredZone: v.optional(v.pipe(v.string(), v.minLength(1))) });

export default defineStrategy({
  name: "zone-first",
  version: "1.0.0",
  description: "Pods on nodes in the preferred zone first, then the rest; oldest first within each group.",
  options: zoneOptions,
  setup: ({ options, logger }) => {
    logger.info("zone-first ready", { preferredZone: options.preferredZone });
    return {
      needsNodes: true,
      optionsSchema: zoneOptions,
      rank: ({ candidates, options: perService }) => {
        const zone = (v.is(zoneOptions, perService) ? perService.preferredZone : undefined) ??
          options.preferredZone;
        const inZone = (c: Candidate) => (zone !== undefined && c.node?.zone === zone ? 0 : 1);
        return [...candidates]
          .sort((a, b) =>
            inZone(a) - inZone(b) || a.pod.createdAt - b.pod.createdAt || a.pod.name.localeCompare(b.pod.name)
          )
          .map((c) => c.pod.uid);
      },
    };
  },
});
