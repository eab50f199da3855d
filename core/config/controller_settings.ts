/** Controller settings and their precedence: flags (and env vars) over the ConfigMap over built-in defaults. */
import type { LogLevel } from "../log.ts";

export interface ControllerSettings {
  metricsBindAddress: string;
  /** HTTPS with TokenReview + SubjectAccessReview on the metrics address. */
  metricsSecure: boolean;
  /** tls.crt / tls.key for metricsSecure; empty: self-signed. */
  metricsCertDir: string;
  healthProbeBindAddress: string;
  /** Address of the read-only status page; empty: off. */
  uiBindAddress: string;
  leaderElect: boolean;
  leaderElectionId: string;
  /** `--leader-elect-lease-duration`, `--leader-elect-renew-deadline`, `--leader-elect-retry-period` (ms). */
  leaderElectLeaseDurationMs: number;
  leaderElectRenewDeadlineMs: number;
  leaderElectRetryPeriodMs: number;
  /** `--watch-stall-timeout` (ms); unset, renew deadline minus retry period (watch_timing.ts). */
  watchStallTimeoutMs: number;
  maxCacheSizePerNamespace: number;
  /** `--max-pod-watch-namespaces`: beyond this many namespaces with opted-in Services, one cluster-wide pod watch. */
  maxPodWatchNamespaces: number;
  maxConcurrentReconciles: number;
  qps: number;
  burst: number;
  cacheUpdateTimeoutSeconds: number;
  apiTimeoutSeconds: number;
  logLevel: LogLevel;
  /** Namespaces to watch; empty means all. */
  watchNamespaces: string[];
  configMapName: string;
  configMapNamespace: string;
  /** Path of a kubeconfig; absent means in-cluster or the client's default lookup. */
  kubeconfig?: string;
  /** `--plugin-module-allow`: comma-separated directories and URL prefixes `module:` entries may load from. */
  pluginModuleAllow: string;
}

/** The fields `config.yaml`'s `controller:` section may set; the others need a restart and come from flags. */
export type ReloadableSettings = Pick<
  ControllerSettings,
  | "maxCacheSizePerNamespace"
  | "maxConcurrentReconciles"
  | "qps"
  | "burst"
  | "cacheUpdateTimeoutSeconds"
  | "apiTimeoutSeconds"
  | "logLevel"
>;

/** The predecessor's defaults; the ConfigMap lives in the controller's own namespace (`POD_NAMESPACE`). */
export function defaultSettings(env: Readonly<Record<string, string | undefined>> = {}): ControllerSettings {
  return {
    metricsBindAddress: ":8080",
    metricsSecure: false,
    metricsCertDir: "",
    healthProbeBindAddress: ":8081",
    uiBindAddress: "",
    leaderElect: true,
    leaderElectionId: "zen-lead-controller-leader-election",
    leaderElectLeaseDurationMs: 15_000,
    leaderElectRenewDeadlineMs: 10_000,
    leaderElectRetryPeriodMs: 2_000,
    watchStallTimeoutMs: 8_000,
    maxCacheSizePerNamespace: 1000,
    maxPodWatchNamespaces: 100,
    maxConcurrentReconciles: 10,
    qps: 50,
    burst: 100,
    cacheUpdateTimeoutSeconds: 10,
    apiTimeoutSeconds: 30,
    logLevel: "info",
    watchNamespaces: [],
    configMapName: "zen-lead-config",
    configMapNamespace: env.POD_NAMESPACE || "zen-lead-system",
    pluginModuleAllow: "",
  };
}

/** Per field: a value the user passed as a flag wins, then one from the ConfigMap, then the default. */
export function resolveSettings(
  flags: Partial<ControllerSettings>,
  configMap: Partial<ReloadableSettings>,
  defaults: ControllerSettings,
): ControllerSettings {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(configMap)) if (value !== undefined) out[key] = value;
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) out[key] = value;
  return out as unknown as ControllerSettings;
}
