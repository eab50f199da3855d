/**
 * The built-in leader strategies. They are ordinary plugins, registered by the kernel like a user's own.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { builtinStrategies } from "./mod.ts";
 * deepStrictEqual(builtinStrategies.map((s) => s.name), ["oldest", "newest", "random", "node-aware"]);
 * ```
 * @module
 */
import nodeAware from "./node_aware.ts";
import newest from "./newest.ts";
import oldest from "./oldest.ts";
import random from "./random.ts";

export { newest, nodeAware, oldest, random };
export { rankOldest } from "./oldest.ts";
export { rankNodeAware } from "./node_aware.ts";
export { type NodeAwareOptions, nodeAwareOptionsSchema } from "./node_aware_options.ts";

/** The strategy used when a Service names none. */
export const DEFAULT_STRATEGY = "oldest";

export const builtinStrategies = [oldest, newest, random, nodeAware] as const;
