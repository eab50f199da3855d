/** Errors of plugin registration and configuration; each problem is one full sentence naming where and what. */

/** A set of plugins or a configuration was refused; `problems` lists every reason, `message` joins them. */
export class PluginConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("; "));
    this.name = "PluginConfigError";
  }
}

/** A plugin module could not be loaded or exports no valid plugin definition. */
export class PluginLoadError extends Error {
  constructor(readonly specifier: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PluginLoadError";
  }
}

/** The message of anything thrown, for logs and problem lists. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
