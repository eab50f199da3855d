/**
 * The process's HTTP servers: metrics (with /debug and /status), liveness and readiness, and the optional status
 * page. Started after the configuration is loaded, before the caches sync.
 */
import type { Logger } from "../core/log.ts";
import type { KubeClient } from "../core/kube/client.ts";
import type { PluginKernel } from "../core/plugin/kernel.ts";
import type { ConfigReloader } from "../core/config/reloader.ts";
import type { ControllerSettings } from "../core/config/controller_settings.ts";
import type { LeaderController } from "../core/controller/controller.ts";
import type { LeaseElector } from "../core/election/lease.ts";
import type { Informer } from "../core/kube/informer.ts";
import type { ConfigMap } from "../core/kube/types.ts";
import { debugApp, healthApp, metricsApp, type RunningServer, serve } from "../core/http/servers.ts";
import { metricsTls, securedApp } from "../core/observability.ts";
import type { SettingsContext } from "../core/leader/service_settings.ts";
import { controllerStatus } from "../core/status/snapshot.ts";
import { type StatusPage, statusPage } from "../core/status/ui/app.ts";
import type { ConfigTarget } from "./config_watch.ts";

export interface Servers {
  metricsPort: number;
  healthPort: number;
  /** Undefined when --ui-bind-address is not set. */
  uiPort?: number;
  close(): Promise<void>;
}

export async function startServers(o: {
  settings: ControllerSettings;
  kernel: PluginKernel;
  controller: LeaderController;
  reloader: ConfigReloader;
  configTarget: ConfigTarget;
  configInformer: Informer<ConfigMap>;
  client: KubeClient;
  identity: string;
  settingsContext: () => SettingsContext;
  /** The replica election, read when /healthz is asked (it starts after the servers). */
  elector: () => LeaseElector | undefined;
  log: Logger;
}): Promise<Servers> {
  const { settings, kernel, controller, reloader, configTarget, identity, log } = o;
  const servers: RunningServer[] = [];
  const metricsRoutes = metricsApp(
    () => kernel.exporters(),
    debugApp(
      () => kernel.names("backend").map((n) => kernel.backend(n)),
      () => ({ deadletters: () => controller.queue.deadLetters() }),
    ),
  );
  // Probe results and recent leader changes for `zen-lead explain` / `status`, which cannot see them otherwise.
  metricsRoutes.get("/status", (c) => c.json(controllerStatus(controller, identity)));
  servers.push(serve(
    settings.metricsSecure ? securedApp(metricsRoutes, o.client, log) : metricsRoutes,
    settings.metricsBindAddress,
    log,
    "metrics",
    settings.metricsSecure ? await metricsTls(settings.metricsCertDir, identity) : undefined,
  ));
  servers.push(serve(
    healthApp({
      notLiveReason: () =>
        o.elector()?.notLiveReason() ?? controller.notLiveReason() ?? o.configInformer.notLiveReason(),
      notReadyReason: () =>
        !controller.synced()
          ? "caches not synced"
          : !reloader.current
          ? "configuration not loaded"
          : undefined,
    }),
    settings.healthProbeBindAddress,
    log,
    "health",
  ));

  // The status page is off unless --ui-bind-address is set; it has the metrics endpoint's protection (none yet).
  let ui: StatusPage | undefined;
  let uiServer: RunningServer | undefined;
  if (settings.uiBindAddress) {
    ui = statusPage({
      controller,
      identity,
      settingsContext: o.settingsContext,
      configDefaults: () => reloader.current?.config.defaults,
      configuration: () =>
        reloader.current?.resourceVersion
          ? `ConfigMap ${configTarget.namespace}/${configTarget.name} (resourceVersion ${reloader.current.resourceVersion})`
          : "no ConfigMap: built-in defaults",
      strategy: (n) => kernel.strategy(n),
    });
    uiServer = serve(ui.app, settings.uiBindAddress, log, "status page");
    servers.push(uiServer);
  }
  return {
    metricsPort: servers[0].port,
    healthPort: servers[1].port,
    uiPort: uiServer?.port,
    async close() {
      ui?.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
