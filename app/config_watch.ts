/**
 * The controller's own ConfigMap: the reloader that applies it (refusals become Events on the ConfigMap) and the
 * informer that watches it like any other object, in the controller's namespace.
 */
import type { Logger } from "../core/log.ts";
import { sleep } from "../core/time/sleep.ts";
import type { MetricsRegistry } from "../core/metrics/registry.ts";
import type { KubeClient } from "../core/kube/client.ts";
import { dropManagedFields, Informer } from "../core/kube/informer.ts";
import { ConfigMaps } from "../core/kube/paths.ts";
import type { ConfigMap } from "../core/kube/types.ts";
import type { PluginKernel } from "../core/plugin/kernel.ts";
import { ConfigReloader } from "../core/config/reloader.ts";
import type { ControllerSettings } from "../core/config/controller_settings.ts";
import { KubeEventRecorder } from "../core/controller/events.ts";
import { KubeLeaderApi } from "../core/controller/kube_api.ts";
import type { Startup } from "./startup.ts";

export interface ConfigTarget {
  kind: "ConfigMap";
  namespace: string;
  name: string;
}

export interface ConfigSource {
  reloader: ConfigReloader;
  target: ConfigTarget;
  /** Starts the watch; resolves once a configuration (the ConfigMap's or the defaults) is applied. */
  watch(opts: { signal: AbortSignal; stallTimeoutMs: number }): Promise<Informer<ConfigMap>>;
}

export function configSource(o: {
  startup: Startup;
  kernel: PluginKernel;
  client: KubeClient;
  eventsClient: KubeClient;
  logger: Logger;
  log: Logger;
  metrics: MetricsRegistry;
}): ConfigSource {
  const settings: ControllerSettings = o.startup.settings;
  const { logger, metrics, log } = o;
  const configEvents = new KubeEventRecorder(KubeLeaderApi.eventSink(o.eventsClient), logger);
  const target: ConfigTarget = {
    kind: "ConfigMap",
    namespace: settings.configMapNamespace,
    name: settings.configMapName,
  };
  let configMapUID: string | undefined;
  const reloader = new ConfigReloader({
    kernel: o.kernel,
    logger,
    metrics,
    flags: o.startup.flags.settings,
    defaults: o.startup.defaults,
    moduleAllow: o.startup.moduleAllow,
    // The same series and spam filter as the controller's Events: a refused version seen again (a relist, a
    // restart) continues its Event instead of adding one.
    recordEvent: (reason, message) =>
      configEvents.record(
        { apiVersion: "v1", ...target, uid: configMapUID },
        "Warning",
        reason,
        message,
      ),
  });

  const watch = async ({ signal, stallTimeoutMs }: { signal: AbortSignal; stallTimeoutMs: number }) => {
    const informer = new Informer<ConfigMap>({
      client: o.client,
      resource: ConfigMaps,
      namespaces: [settings.configMapNamespace],
      fieldSelector: `metadata.name=${settings.configMapName}`,
      transform: dropManagedFields,
      logger,
      metrics,
      stallTimeoutMs,
    });
    const applyConfig = async (cm: ConfigMap | undefined) => {
      configMapUID = cm?.metadata.uid;
      const r = await reloader.apply(cm);
      if (!r.ok && !reloader.current) {
        // Nothing valid yet (first start with a broken ConfigMap): run on defaults, the error already reported.
        await reloader.apply(undefined);
      }
    };
    // No ConfigMap text may stop the process: whatever an apply throws is logged, never left unhandled.
    const applySafely = (cm: ConfigMap | undefined) =>
      void applyConfig(cm).catch((e) => log.error("applying the ConfigMap failed", { error: e }));
    informer.addHandlers({
      add: (cm) => applySafely(cm),
      update: (_o, cm) => applySafely(cm),
      delete: () => applySafely(undefined),
    });
    informer.run(signal).catch((e) => log.error("config informer stopped", { error: e }));
    await informer.waitForSync(signal);
    if (informer.size === 0) await applyConfig(undefined);
    while (!reloader.current) await sleep(10);
    return informer;
  };
  return { reloader, target, watch };
}
