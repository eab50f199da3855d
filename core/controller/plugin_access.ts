/** What the reconcile needs from the plugin kernel: settings context, strategies and cloud backends by name. */
import type { CloudBackend, LeaderStrategy } from "../plugin/types.ts";
import type { SettingsContext } from "../leader/service_settings.ts";

export interface PluginAccess {
  settingsContext(): SettingsContext;
  strategy(name: string): LeaderStrategy;
  backend(name: string | undefined): CloudBackend | undefined;
  /** Changes whenever the configuration or the plugins change, so memoised settings are parsed again. */
  generation?(): number;
  /** Every enabled cloud backend (pod hooks, resync, debug). */
  backends?(): CloudBackend[];
}
