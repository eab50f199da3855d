/** Options of the `node-aware` strategy, validated by the kernel before the strategy sees them. */
import * as v from "valibot";
import { AGE_ORDERS } from "./order.ts";

/**
 * Every field is optional and has no schema default: a per-Service value wins, then the ConfigMap's plugin-level
 * value, then the built-in default (`order: "oldest"`), so an absent per-Service field never hides the ConfigMap's.
 */
export const nodeAwareOptionsSchema = v.optional(
  v.strictObject({
    order: v.optional(v.picklist(AGE_ORDERS, 'must be "oldest" or "newest"')),
    preferredZone: v.optional(v.pipe(v.string(), v.minLength(1, "must be a non-empty zone name"))),
    preferredNodeLabel: v.optional(
      v.strictObject({
        key: v.pipe(v.string(), v.minLength(1, "must be a non-empty label key")),
        value: v.string(),
      }),
    ),
  }),
  {},
);

export type NodeAwareOptions = v.InferOutput<typeof nodeAwareOptionsSchema>;
