/**
 * Assembles zen-lead: flags, the plugin kernel and its ConfigMap, the Kubernetes client, the leader controller,
 * Lease election and the HTTP surfaces. `startZenLead` returns a handle (tests, demo, bench); `runController`
 * is the process entry that runs until SIGTERM.
 */
import { RootLogger } from "./log.ts";
import { MetricsRegistry } from "./metrics/registry.ts";
import { startProcessMetrics } from "./metrics/process.ts";
import { KubeClient } from "./kube/client.ts";
import { loadCredentials } from "./kube/kubeconfig.ts";
import { dropManagedFields, Informer } from "./kube/informer.ts";
import { ConfigMaps, Events, Services } from "./kube/paths.ts";
import type { ConfigMap, KubeObject } from "./kube/types.ts";
import { PluginKernel } from "./plugin/kernel.ts";
import { registeredPlugins } from "./plugin/registry.ts";
import { LeadershipState } from "./plugin/leadership.ts";
import type { BackendStatus, PluginDefinition } from "./plugin/types.ts";
import { ConfigReloader } from "./config/reloader.ts";
import { flagsHelp, parseFlags } from "./config/flags.ts";
import { type ControllerSettings, defaultSettings, resolveSettings } from "./config/settings.ts";
import { LeaderController } from "./controller/controller.ts";
import { LeaseElector } from "./election/lease.ts";
import { debugApp, healthApp, metricsApp, type RunningServer, serve } from "./http/servers.ts";
import type { SettingsContext } from "./leader/settings.ts";
import { builtinStrategies } from "../strategies/mod.ts";
import { builtinHealthCheckers } from "../health/mod.ts";
import { builtinPlugins as builtinOtherPlugins } from "../plugins/mod.ts";

export const VERSION = "0.1.0";

/** Every built-in plugin: registered exactly like a user's. */
export function builtinPlugins(): PluginDefinition[] {
  return [...builtinStrategies, ...builtinHealthCheckers, ...builtinOtherPlugins] as PluginDefinition[];
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
  identity: string;
  /** Resolves when this replica first leads (at once without leader election). */
  leading: Promise<void>;
  /** Graceful stop: intake stops, in-flight reconciles finish within `graceMs`, the Lease is released. */
  stop(graceMs?: number): Promise<void>;
}

export async function startZenLead(argv: readonly string[], opts: StartOptions = {}): Promise<ZenLeadHandle> {
  const env = opts.env ?? Deno.env.toObject();
  const defaults = defaultSettings(env);
  const flags = parseFlags(argv, env);
  if (flags.help) {
    console.log(flagsHelp(defaults));
    Deno.exit(0);
  }
  let settings = resolveSettings(flags.settings, {}, defaults);
  const logger = new RootLogger(settings.logLevel);
  const log = logger.child({ component: "zen-lead" });
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
    plugins: [...builtinPlugins(), ...registeredPlugins(), ...(opts.extraPlugins ?? [])],
    logger,
    metrics,
    leadership,
  });
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
    recordEvent: async (reason, message) => {
      const stamp = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      await client.create<KubeObject>(Events, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${configTarget.name}.`, namespace: configTarget.namespace },
        involvedObject: { apiVersion: "v1", ...configTarget, uid: configMapUID },
        reason,
        message: message.length > 1024 ? message.slice(0, 1021) + "..." : message,
        type: "Warning",
        count: 1,
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        source: { component: "zen-lead", host: Deno.hostname() },
      } as KubeObject).catch((e) => log.warn("could not record configuration event", { error: e }));
    },
  });
  let configMapUID: string | undefined;

  const settingsContext = (): SettingsContext => {
    const d = reloader.current?.config.defaults ?? {};
    return {
      defaultStrategy: d.strategy ?? "oldest",
      defaultSticky: d.sticky ?? true,
      defaultHealthCheck: d.healthCheck ?? "ready",
      defaultFailMode: "open",
      strategyDefaults: (d.strategyOptions ?? {}) as Record<string, Record<string, unknown>>,
      strategies: kernel.names("strategy"),
      strategyOptionsSchema: (n) => kernel.strategy(n).optionsSchema,
      healthTypes: kernel.names("health"),
      healthChecker: (n) => kernel.has("health", n) ? kernel.health(n) : undefined,
      backends: kernel.names("backend"),
      defaultBackend: d.backend,
    };
  };

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
    canWrite: () => elector ? elector.isLeader() : true,
    stallTimeoutMs: opts.stallTimeoutMs,
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
      { subresource: "status" },
    ).catch((e) => log.warn("could not write backend status", { namespace: ns, service: name, error: e }));
  };
  const attachBackends = () => {
    for (const b of kernel.names("backend")) kernel.backend(b)?.onStatus(statusListener);
  };

  reloader.onChange((applied) => {
    settings = applied.settings;
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
    stallTimeoutMs: opts.stallTimeoutMs,
  });
  const applyConfig = async (cm: ConfigMap | undefined) => {
    configMapUID = cm?.metadata.uid;
    const r = await reloader.apply(cm);
    if (!r.ok && !reloader.current) {
      // Nothing valid yet (first start with a broken ConfigMap): run on defaults, the error already reported.
      await reloader.apply(undefined);
    }
  };
  configInformer.addHandlers({
    add: (cm) => void applyConfig(cm),
    update: (_o, cm) => void applyConfig(cm),
    delete: () => void applyConfig(undefined),
  });
  configInformer.run(abort.signal).catch((e) => log.error("config informer stopped", { error: e }));
  await configInformer.waitForSync(abort.signal);
  if (configInformer.size === 0) await applyConfig(undefined);
  while (!reloader.current) await new Promise((r) => setTimeout(r, 10));

  const servers: RunningServer[] = [];
  servers.push(serve(
    metricsApp(
      () => kernel.exporters(),
      debugApp(() => kernel.names("backend").map((n) => kernel.backend(n))),
    ),
    settings.metricsBindAddress,
    log,
    "metrics",
  ));
  servers.push(serve(
    healthApp({
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
      leaseDurationMs: opts.lease?.durationMs,
      renewDeadlineMs: opts.lease?.renewDeadlineMs,
      retryPeriodMs: opts.lease?.retryPeriodMs,
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
    elector.run(abort.signal).catch((e) => log.error("leader election stopped", { error: e }));
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
    metricsPort: servers[0].port,
    healthPort: servers[1].port,
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
      await Promise.all(servers.map((s) => s.close()));
      stopProcessMetrics();
      client.close();
      eventsClient.close();
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
