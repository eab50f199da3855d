/**
 * Assembles zen-lead: flags, the plugin kernel and its ConfigMap, the Kubernetes client, the leader controller,
 * Lease election and the HTTP surfaces. `startZenLead` returns a handle (tests, demo, bench); `runController`
 * is the process entry that runs until SIGTERM.
 */
import { RootLogger } from "./log.ts";
import { sleep } from "./time/sleep.ts";
import { MetricsRegistry } from "./metrics/registry.ts";
import { startProcessMetrics } from "./metrics/process.ts";
import { KubeClient } from "./kube/client.ts";
import { loadCredentials } from "./kube/kubeconfig.ts";
import { dropManagedFields, Informer } from "./kube/informer.ts";
import { ConfigMaps, Services } from "./kube/paths.ts";
import type { ConfigMap } from "./kube/types.ts";
import { type KernelParts, PluginKernel } from "./plugin/kernel.ts";
import { registeredPlugins } from "./plugin/registry.ts";
import { LeadershipState } from "./plugin/leadership.ts";
import type { BackendStatus, PluginDefinition } from "./plugin/types.ts";
import { ConfigReloader } from "./config/reloader.ts";
import { FlagError, flagsHelp, parseFlags } from "./config/flags.ts";
import { parseAllowList } from "./plugin/module_policy.ts";
import { readEnv } from "./config/env.ts";
import { OTEL_ENV_VARS } from "./tracing/config.ts";
import { metricsTls, securedApp, startTracingFrom } from "./observability.ts";
import { type ControllerSettings, defaultSettings, resolveSettings } from "./config/settings.ts";
import { LeaderController } from "./controller/controller.ts";
import { KubeEventRecorder } from "./controller/events.ts";
import { KubeLeaderApi } from "./controller/kube_api.ts";
import { LeaseElector } from "./election/lease.ts";
import { type LeaseTimings, leaseTimingsProblem } from "./election/timings.ts";
import { defaultStallTimeoutMs, stallTimeoutProblem } from "./kube/watch_timing.ts";
import { debugApp, healthApp, metricsApp, type RunningServer, serve } from "./http/servers.ts";
import type { SettingsContext } from "./leader/settings.ts";
import { settingsContextOf } from "./plugin/settings_context.ts";
import { controllerStatus } from "./status/snapshot.ts";
import { type StatusPage, statusPage } from "./status/ui/app.ts";
import { builtinStrategies, rankOldest } from "../strategies/mod.ts";
import { builtinHealthCheckers } from "../health/mod.ts";
import { builtinPlugins as builtinOtherPlugins } from "../plugins/mod.ts";

export const VERSION = "0.1.0";

/** Every built-in plugin: registered exactly like a user's. */
export function builtinPlugins(): PluginDefinition[] {
  return [...builtinStrategies, ...builtinHealthCheckers, ...builtinOtherPlugins];
}

/** What every kernel gets: the built-ins plus `extra`, and the `oldest` ranking as the last resort. */
export function kernelParts(extra: readonly PluginDefinition[] = []): KernelParts {
  return { plugins: [...builtinPlugins(), ...extra], lastResortRanking: rankOldest };
}

export interface StartOptions {
  /** Plugins compiled into this binary (the custom-binary entry file passes its own). */
  extraPlugins?: readonly PluginDefinition[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Tests pass a small stall bound to exercise watch restarts. */
  stallTimeoutMs?: number;
  /** Lease timings (tests shorten them). */
  lease?: { durationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
}

export interface ZenLeadHandle {
  settings: ControllerSettings;
  controller: LeaderController;
  kernel: PluginKernel;
  reloader: ConfigReloader;
  metrics: MetricsRegistry;
  metricsPort: number;
  healthPort: number;
  /** Port of the status page; undefined when --ui-bind-address is not set. */
  uiPort?: number;
  identity: string;
  /** The replica election (absent with --leader-elect=false). */
  elector?: LeaseElector;
  /** Resolves when this replica first leads (at once without leader election). */
  leading: Promise<void>;
  /** Graceful stop: intake stops, in-flight reconciles finish within `graceMs`, the Lease is released. */
  stop(graceMs?: number): Promise<void>;
}

export async function startZenLead(argv: readonly string[], opts: StartOptions = {}): Promise<ZenLeadHandle> {
  const env = opts.env ?? readEnv();
  const defaults = defaultSettings(env);
  const flags = parseFlags(argv, env);
  if (flags.help) {
    console.log(flagsHelp(defaults));
    Deno.exit(0);
  }
  let settings = resolveSettings(flags.settings, {}, defaults);
  const leaseTimings: LeaseTimings = {
    leaseDurationMs: opts.lease?.durationMs ?? settings.leaderElectLeaseDurationMs,
    renewDeadlineMs: opts.lease?.renewDeadlineMs ?? settings.leaderElectRenewDeadlineMs,
    retryPeriodMs: opts.lease?.retryPeriodMs ?? settings.leaderElectRetryPeriodMs,
  };
  const timingProblem = leaseTimingsProblem(leaseTimings);
  if (timingProblem) {
    throw new FlagError(
      `flags --leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period: ${timingProblem}`,
    );
  }
  // Unset, the stall bound follows the lease timings, so a stalled watch is reopened within the renew deadline.
  const stallTimeoutMs = opts.stallTimeoutMs ?? flags.settings.watchStallTimeoutMs ??
    defaultStallTimeoutMs(leaseTimings);
  const stallProblem = opts.stallTimeoutMs === undefined && stallTimeoutProblem(stallTimeoutMs, leaseTimings);
  if (stallProblem) throw new FlagError(`flag --watch-stall-timeout: ${stallProblem}`);
  let moduleAllow;
  try {
    moduleAllow = parseAllowList(settings.pluginModuleAllow, Deno.cwd());
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
  const logger = new RootLogger(settings.logLevel);
  const log = logger.child({ component: "zen-lead" });
  const otelEnv = opts.env ?? readEnv(OTEL_ENV_VARS);
  let tracing = await startTracingFrom(otelEnv, log);
  const metrics = new MetricsRegistry();
  metrics.gauge({
    name: "zen_lead_build_info",
    help: "Build information; always 1.",
    labelNames: ["version", "runtime"],
  })
    .set({ version: VERSION, runtime: `deno ${Deno.version.deno}` }, 1);
  const stopProcessMetrics = startProcessMetrics(metrics);

  const credentials = await loadCredentials(settings.kubeconfig);
  log.info("connecting to the API server", {
    server: credentials.server.href,
    credentials: credentials.describe,
  });
  const client = await KubeClient.fromCredentials(credentials, {
    metrics,
    logger,
    qps: settings.qps,
    burst: settings.burst,
    timeoutMs: settings.apiTimeoutSeconds * 1000,
  });
  // Events go through a token bucket of their own: a burst of them (a thousand Services created at once) must
  // not queue the EndpointSlice writes that route traffic behind it.
  const eventsClient = await KubeClient.fromCredentials(credentials, {
    metrics,
    reportReachability: false,
    logger,
    qps: settings.qps,
    burst: settings.burst,
    timeoutMs: settings.apiTimeoutSeconds * 1000,
  });
  const abort = new AbortController();
  const identity = env.POD_NAME || `${Deno.hostname()}-${crypto.randomUUID().slice(0, 6)}`;

  // Backends act on the cloud only while this replica leads; the kernel hands this state to every plugin.
  const leadership = new LeadershipState();
  const kernel = new PluginKernel({
    ...kernelParts([...registeredPlugins(), ...(opts.extraPlugins ?? [])]),
    logger,
    metrics,
    leadership,
  });
  const configEvents = new KubeEventRecorder(KubeLeaderApi.eventSink(eventsClient), logger);
  const configTarget = {
    kind: "ConfigMap",
    namespace: settings.configMapNamespace,
    name: settings.configMapName,
  };
  const reloader = new ConfigReloader({
    kernel,
    logger,
    metrics,
    flags: flags.settings,
    defaults,
    moduleAllow,
    // The same series and spam filter as the controller's Events: a refused version seen again (a relist, a
    // restart) continues its Event instead of adding one.
    recordEvent: (reason, message) =>
      configEvents.record(
        { apiVersion: "v1", ...configTarget, uid: configMapUID },
        "Warning",
        reason,
        message,
      ),
  });
  let configMapUID: string | undefined;

  const settingsContext = (): SettingsContext => settingsContextOf(kernel, reloader.current?.config.defaults);

  let elector: LeaseElector | undefined;
  let configGeneration = 0;
  const controller = new LeaderController({
    client,
    eventsClient,
    logger,
    metrics,
    namespaces: settings.watchNamespaces,
    workers: settings.maxConcurrentReconciles,
    watchNodes: settings.watchNamespaces.length === 0,
    plugins: {
      settingsContext,
      strategy: (n) => kernel.strategy(n),
      backend: (n) => kernel.backend(n),
      generation: () => configGeneration,
      backends: () => kernel.names("backend").map((n) => kernel.backend(n)!).filter((b) => b !== undefined),
    },
    maxCacheSizePerNamespace: settings.maxCacheSizePerNamespace,
    maxPodWatchNamespaces: settings.maxPodWatchNamespaces,
    canWrite: () => elector ? elector.isLeader() : true,
    stallTimeoutMs,
    listTimeoutMs: () => settings.cacheUpdateTimeoutSeconds * 1000,
  });

  // Backends report cloud status; the controller writes it to the source Service (the "status watcher").
  const statusListener = (key: string, status: BackendStatus) => {
    const [ns, name] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    if (!controller.isActive) return;
    if (status.warning) {
      // A backend's problem with this Service (e.g. an operation parked): an Event, the status stays as it is.
      const { reason, message } = status.warning;
      controller.events.record(
        { kind: "Service", apiVersion: "v1", namespace: ns, name },
        "Warning",
        reason,
        message,
      );
      return;
    }
    client.mergePatch(
      Services,
      ns,
      name,
      { status: { loadBalancer: { ingress: status.ingress } } },
      {
        subresource: "status",
        beforeAttempt: () => {
          if (!controller.isActive || !(elector?.isLeader() ?? true)) {
            throw new Error("not leading; write refused");
          }
        },
      },
    ).catch((e) => log.warn("could not write backend status", { namespace: ns, service: name, error: e }));
  };
  const attachBackends = () => {
    for (const b of kernel.names("backend")) kernel.backend(b)?.onStatus(statusListener);
  };

  let tracingSection = "";
  reloader.onChange((applied) => {
    settings = applied.settings;
    const section = JSON.stringify(applied.config.tracing ?? null);
    if (section !== tracingSection) {
      // The SDK is installed once per process: the first `tracing:` section starts it, later edits wait.
      if (tracing && tracingSection !== "") {
        log.info("tracing settings changed; they apply at the next restart");
      }
      tracingSection = section;
      if (!tracing && applied.config.tracing) {
        startTracingFrom(otelEnv, log, applied.config.tracing).then(
          (t) => tracing = t,
          (e) => log.warn("tracing section not applied", { error: e }),
        );
      }
    }
    configGeneration++;
    controller.reconciler.settingsMemo.setMax(settings.maxCacheSizePerNamespace);
    logger.setLevel(settings.logLevel);
    client.setRateLimit(settings.qps, settings.burst);
    eventsClient.setRateLimit(settings.qps, settings.burst);
    client.setTimeout(settings.apiTimeoutSeconds * 1000);
    controller.queue.setWorkers(settings.maxConcurrentReconciles);
    attachBackends();
    if (controller.isActive) controller.replayPodsToBackends();
    controller.enqueueAll();
  });

  // The ConfigMap is watched like everything else; its namespace is the controller's own.
  const configInformer = new Informer<ConfigMap>({
    client,
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
  configInformer.addHandlers({
    add: (cm) => applySafely(cm),
    update: (_o, cm) => applySafely(cm),
    delete: () => applySafely(undefined),
  });
  configInformer.run(abort.signal).catch((e) => log.error("config informer stopped", { error: e }));
  await configInformer.waitForSync(abort.signal);
  if (configInformer.size === 0) await applyConfig(undefined);
  while (!reloader.current) await sleep(10);

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
    settings.metricsSecure ? securedApp(metricsRoutes, client, log) : metricsRoutes,
    settings.metricsBindAddress,
    log,
    "metrics",
    settings.metricsSecure ? await metricsTls(settings.metricsCertDir, identity) : undefined,
  ));
  servers.push(serve(
    healthApp({
      notLiveReason: () =>
        elector?.notLiveReason() ?? controller.notLiveReason() ?? configInformer.notLiveReason(),
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
      settingsContext,
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

  await controller.start(abort.signal);
  log.info("caches synced", { services: controller.services.size, pods: controller.pods.size });

  let resolveLeading!: () => void;
  const leading = new Promise<void>((r) => resolveLeading = r);
  if (settings.leaderElect) {
    elector = new LeaseElector({
      client,
      namespace: settings.configMapNamespace,
      name: settings.leaderElectionId,
      identity,
      ...leaseTimings,
      logger,
      metrics,
      onStartedLeading: () => {
        leadership.set(true);
        controller.activate();
        resolveLeading();
      },
      onStoppedLeading: () => {
        controller.deactivate();
        leadership.set(false);
      },
    });
    elector.run(abort.signal)
      .catch((e) => log.error("leader election stopped", { error: e }))
      .finally(() => {
        if (!abort.signal.aborted) log.error("leader election loop ended; /healthz now fails");
      });
  } else {
    leadership.set(true);
    controller.activate();
    resolveLeading();
  }

  let stopped = false;
  return {
    get settings() {
      return settings;
    },
    controller,
    kernel,
    reloader,
    metrics,
    elector,
    metricsPort: servers[0].port,
    healthPort: servers[1].port,
    uiPort: uiServer?.port,
    identity,
    leading,
    async stop(graceMs = 10_000) {
      if (stopped) return;
      stopped = true;
      log.info("shutting down", { graceMs });
      await controller.shutdown(graceMs);
      controller.deactivate();
      leadership.set(false);
      if (elector) {
        await elector.release().catch((e) => log.warn("could not release the lease", { error: e }));
      }
      abort.abort();
      await kernel.close();
      ui?.close();
      await Promise.all(servers.map((s) => s.close()));
      stopProcessMetrics();
      client.close();
      eventsClient.close();
      // What the last reconciles traced reaches the collector before the process ends.
      await tracing?.shutdown().catch((e) => log.warn("trace export at shutdown failed", { error: e }));
    },
  };
}

/** The process entry: runs until SIGTERM or SIGINT, then stops gracefully. */
export async function runController(argv: readonly string[], extraPlugins: readonly PluginDefinition[] = []) {
  const handle = await startZenLead(argv, { extraPlugins });
  await new Promise<void>((resolve) => {
    const onSignal = () => resolve();
    Deno.addSignalListener("SIGTERM", onSignal);
    Deno.addSignalListener("SIGINT", onSignal);
  });
  await handle.stop();
  Deno.exit(0);
}
