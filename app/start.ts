/**
 * Assembles zen-lead: flags, the plugin kernel and its ConfigMap, the Kubernetes clients, the leader controller,
 * the replica election and the HTTP servers. `startZenLead` returns a handle (tests, demo, bench); `runController`
 * is the process entry that runs until SIGTERM.
 */
import { RootLogger } from "../core/log.ts";
import { MetricsRegistry } from "../core/metrics/registry.ts";
import { startProcessMetrics } from "../core/metrics/process.ts";
import { PluginKernel } from "../core/plugin/kernel.ts";
import { registeredPlugins } from "../core/plugin/registry.ts";
import { ReplicaActivity } from "../core/plugin/replica_activity.ts";
import type { PluginDefinition } from "../core/plugin/types.ts";
import type { ConfigReloader } from "../core/config/reloader.ts";
import { readEnv } from "../core/config/env.ts";
import { OTEL_ENV_VARS } from "../core/tracing/config.ts";
import { startTracingFrom } from "../core/observability.ts";
import type { ControllerSettings } from "../core/config/controller_settings.ts";
import { LeaderController } from "../core/controller/controller.ts";
import type { LeaseElector } from "../core/election/lease.ts";
import type { SettingsContext } from "../core/leader/service_settings.ts";
import { settingsContextOf } from "../core/plugin/settings_context.ts";
import { builtinPlugins, kernelParts } from "./builtins.ts";
import { readStartup } from "./startup.ts";
import { connectClients } from "./clients.ts";
import { configSource } from "./config_watch.ts";
import { backendStatusWriter } from "./backend_status.ts";
import { startServers } from "./servers.ts";
import { startElection } from "./election.ts";

export { builtinPlugins, kernelParts };

export const VERSION = "0.1.0";

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
  /** Resolves when this replica first becomes active (at once without leader election). */
  activated: Promise<void>;
  /** Graceful stop: intake stops, in-flight reconciles finish within `graceMs`, the Lease is released. */
  stop(graceMs?: number): Promise<void>;
}

export async function startZenLead(argv: readonly string[], opts: StartOptions = {}): Promise<ZenLeadHandle> {
  const env = opts.env ?? readEnv();
  const startup = readStartup(argv, env, opts.lease, opts.stallTimeoutMs);
  let settings = startup.settings;
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

  const clients = await connectClients(settings, metrics, logger, log);
  const { client, eventsClient } = clients;
  const abort = new AbortController();
  const identity = env.POD_NAME || `${Deno.hostname()}-${crypto.randomUUID().slice(0, 6)}`;

  // Backends act on the cloud only while this replica is active; the kernel hands this state to every plugin.
  const replica = new ReplicaActivity();
  const kernel = new PluginKernel({
    ...kernelParts([...registeredPlugins(), ...(opts.extraPlugins ?? [])]),
    logger,
    metrics,
    leadership: replica,
  });
  const config = configSource({ startup, kernel, client, eventsClient, logger, log, metrics });
  const { reloader } = config;

  const settingsContext = (): SettingsContext => settingsContextOf(kernel, reloader.current?.config.defaults);

  // Set when the election starts (after the caches sync); the controller is inactive, so writes nothing, before.
  let elector: LeaseElector | undefined = undefined;
  const holdsLease = () => elector ? elector.holdsLease() : true;
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
    canWrite: holdsLease,
    stallTimeoutMs: startup.stallTimeoutMs,
    listTimeoutMs: () => settings.cacheUpdateTimeoutSeconds * 1000,
  });
  const statusWriter = backendStatusWriter({ kernel, controller, client, holdsLease, log });

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
    clients.reconfigure(settings);
    controller.queue.setWorkers(settings.maxConcurrentReconciles);
    statusWriter.attach();
    if (controller.isActive) controller.replayPodsToBackends();
    controller.enqueueAll();
  });

  const configInformer = await config.watch({ signal: abort.signal, stallTimeoutMs: startup.stallTimeoutMs });

  const servers = await startServers({
    settings,
    kernel,
    controller,
    reloader,
    configTarget: config.target,
    configInformer,
    client,
    identity,
    settingsContext,
    elector: () => elector,
    log,
  });

  await controller.start(abort.signal);
  log.info("caches synced", { services: controller.services.size, pods: controller.pods.size });

  const election = startElection({
    settings,
    leaseTimings: startup.leaseTimings,
    client,
    identity,
    controller,
    replica,
    logger,
    log,
    metrics,
    signal: abort.signal,
  });
  elector = election.elector;

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
    metricsPort: servers.metricsPort,
    healthPort: servers.healthPort,
    uiPort: servers.uiPort,
    identity,
    activated: election.active,
    async stop(graceMs = 10_000) {
      if (stopped) return;
      stopped = true;
      log.info("shutting down", { graceMs });
      await controller.shutdown(graceMs);
      controller.deactivate();
      replica.set(false);
      if (elector) {
        await elector.release().catch((e) => log.warn("could not release the lease", { error: e }));
      }
      abort.abort();
      await kernel.close();
      await servers.close();
      stopProcessMetrics();
      clients.close();
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
