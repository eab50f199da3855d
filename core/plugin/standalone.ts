/**
 * A plugin set up outside the controller, for a plugin author's unit tests and the runnable examples of mod.ts:
 * the kernel's option validation and a context of its own (silent logger, fresh metrics registry).
 */
import { RootLogger } from "../log.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { validateOptions } from "./desired_plugins.ts";
import { PluginConfigError } from "./errors.ts";
import { ALWAYS_ACTIVE } from "./replica_activity.ts";
import type { Leadership, PluginContext, PluginDefinition, PluginKind } from "./types.ts";
import type { Logger } from "../log.ts";

/** What `setUpPlugin` gives the plugin besides its options; every field has a default. */
export interface StandaloneContext {
  /** The logger (default: one that discards every record). */
  readonly logger?: Logger;
  /** The metrics registry (default: a fresh one, so a test can read the plugin's metrics from it). */
  readonly metrics?: MetricsRegistry;
  /** Aborts like the kernel's on close (default: never aborted). */
  readonly signal?: AbortSignal;
  /** This replica's active/standby state (default: always active). */
  readonly leadership?: Leadership;
  /** Instances returned by `ctx.dependency(name)`, by plugin name (default: none). */
  readonly dependencies?: Readonly<Record<string, unknown>>;
}

/**
 * Validates `options` against the definition's schema as the kernel does (absent options are `{}`, so schema
 * defaults apply) and returns the instance its `setup` makes. Throws an `Error` listing every option problem.
 */
export async function setUpPlugin<K extends PluginKind, O, I>(
  def: PluginDefinition<K, O, I>,
  options?: unknown,
  init: StandaloneContext = {},
): Promise<I> {
  const checked = validateOptions(def, options);
  if (!checked.ok) throw new PluginConfigError(checked.problems);
  const dependencies = init.dependencies ?? {};
  const ctx: PluginContext<O> = {
    name: def.name,
    // validateOptions parsed them with def.options, whose output type is O.
    options: checked.options as O,
    logger: init.logger ?? new RootLogger("error", () => {}),
    metrics: init.metrics ?? new MetricsRegistry(),
    signal: init.signal ?? new AbortController().signal,
    leadership: init.leadership ?? ALWAYS_ACTIVE,
    dependency: <T>(name: string): T => {
      if (!(name in dependencies)) {
        throw new Error(
          `plugin "${def.name}": dependency("${name}") was not given; given: [${
            Object.keys(dependencies).join(", ")
          }]`,
        );
      }
      return dependencies[name] as T;
    },
  };
  return await def.setup(ctx);
}
