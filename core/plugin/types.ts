/**
 * The plugin contract. Every strategy, health checker, cloud backend and metrics exporter, built-in or a user's,
 * is a `PluginDefinition`; the kernel validates its options, calls `setup` in dependency order and `close` in
 * reverse.
 */
import type { GenericSchema } from "valibot";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";

export type PluginKind = "strategy" | "health" | "backend" | "exporter";
export const PLUGIN_KINDS: readonly PluginKind[] = ["strategy", "health", "backend", "exporter"];

/** What a plugin gets from the kernel: its validated options and the process's shared services. */
export interface PluginContext<O = unknown> {
  readonly name: string;
  readonly options: O;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Aborted when the plugin is closed (reconfigured or shut down): stop timers and requests on it. */
  readonly signal: AbortSignal;
  /** The instance of a plugin named in `dependsOn`. */
  dependency<T = unknown>(name: string): T;
  /** Whether this replica is the active controller; act on the outside world only while it is. */
  readonly leadership: Leadership;
}

/** The active/standby state of this controller replica, as the Lease decides it. */
export interface Leadership {
  readonly active: boolean;
  /** Calls `listener` on every change; returns a function that unsubscribes. */
  subscribe(listener: (active: boolean) => void): () => void;
}

// deno-lint-ignore no-explicit-any
export type AnySchema = GenericSchema<any, any>;

export interface PluginDefinition<K extends PluginKind = PluginKind, O = unknown, I = unknown> {
  readonly name: string;
  readonly kind: K;
  readonly version: string;
  readonly description?: string;
  /** Names of plugins that must be set up before this one. */
  readonly dependsOn?: readonly string[];
  /** A valibot schema for the options in the ConfigMap; absent means the plugin takes none. */
  readonly options?: GenericSchema<unknown, O>;
  setup(ctx: PluginContext<O>): I | Promise<I>;
  close?(instance: I): void | Promise<void>;
}

// ---- The domain as plugins see it: plain data, no Kubernetes client. ----

/** A pod as a strategy or checker sees it. Times are epoch milliseconds. */
export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  ip: string;
  nodeName?: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  createdAt: number;
  /** When the Ready condition last turned True. */
  readySince?: number;
  /** Named container ports, for probes and targetPort resolution. */
  ports: readonly { name?: string; port: number; protocol: string }[];
}

export interface NodeView {
  name: string;
  /** The node's Ready condition: true, false or "Unknown" (unreachable). */
  ready: boolean | "Unknown";
  unschedulable: boolean;
  taints: readonly { key: string; value?: string; effect: string }[];
  labels: Readonly<Record<string, string>>;
  zone?: string;
  internalIP?: string;
}

export interface Candidate {
  pod: PodView;
  node?: NodeView;
  /** `zen-lead.io/priority` from the pod's labels or annotations; 0 when absent. */
  priority: number;
}

export interface ServiceView {
  namespace: string;
  name: string;
  uid: string;
  annotations: Readonly<Record<string, string>>;
}

export interface StrategyInput<O = unknown> {
  service: ServiceView;
  /** Eligible and healthy pods only, in no particular order. */
  candidates: readonly Candidate[];
  /** UIDs of the pods leading now, in endpoint order. */
  currentLeaders: readonly string[];
  /** How many leaders are wanted (`zen-lead.io/leader-count`, default 1). */
  count: number;
  /** Per-Service options, already validated against `optionsSchema`. */
  options: O;
  /** A stable seed recorded on the leader Service, for strategies that draw at random. */
  seed: string;
  now: number;
}

/** A leader strategy orders candidates; it must be pure and deterministic for a given input. */
export interface LeaderStrategy<O = unknown> {
  /** Validates per-Service strategy options (from the ConfigMap's per-strategy defaults). */
  readonly optionsSchema?: GenericSchema<unknown, O>;
  /** Whether the controller must watch Nodes for this strategy. */
  readonly needsNodes?: boolean;
  /** Pod UIDs, best first; the kernel takes the first `count` after sticky and priority rules. */
  rank(input: StrategyInput<O>): readonly string[];
}

export interface HealthResult {
  healthy: boolean;
  /** Why, in a few words: "HTTP 500", "connection refused", "NOT_SERVING", "timeout after 1000ms". */
  reason: string;
}

/** A health checker probes one pod once; scheduling, thresholds and concurrency are the kernel's job. */
export interface HealthChecker<S = unknown> {
  /** Validates the per-Service check spec (from `zen-lead.io/health-check` JSON). */
  readonly specSchema?: GenericSchema<unknown, S>;
  /** Parses the short form after `name:` (e.g. `8080/healthz` for `http:8080/healthz`) into a spec. */
  parseShort?(text: string): unknown;
  /** Whether results come from the Kubernetes object alone (no network), so no scheduler is needed. */
  readonly passive?: boolean;
  /** A Service starts using this checker: get ready for its first check (e.g. start a helper process). */
  warm?(): void;
  /** `signal` aborts when the check's timeout expires at `deadline` (epoch ms), which gRPC-style checks forward. */
  check(pod: PodView, spec: S, signal: AbortSignal, deadline?: number): Promise<HealthResult>;
  /** The kernel stopped probing this pod with this spec: drop what was kept for it (e.g. a gRPC channel). */
  release?(pod: PodView, spec: S): void;
}

/** The cloud state the controller wants for one opted-in Service. */
export interface BackendServiceState {
  /** `namespace/name` of the source Service. */
  key: string;
  uid: string;
  ports: readonly { name?: string; port: number; targetPort: number; protocol: string }[];
  /** Leader endpoints in order: pod IP and the IP of the node it runs on. */
  leaders: readonly { podName: string; podUID: string; podIP: string; nodeName?: string; nodeIP?: string }[];
}

/** What a backend reports back; the controller writes it to the Service's status.loadBalancer. */
export interface BackendStatus {
  ingress: readonly { ip?: string; hostname?: string }[];
  /**
   * A problem the backend has with the Service (e.g. an operation parked after ARM refused it): recorded as a
   * Warning Event on the Service; a status carrying it leaves `ingress` as it is (it is not written).
   */
  warning?: { reason: string; message: string };
}

export interface CloudBackend {
  /** Level-triggered: the whole desired state of one Service; called again whenever it changes. */
  apply(desired: BackendServiceState): void | Promise<void>;
  /** The Service opted out or was deleted. */
  remove(key: string, uid: string): void | Promise<void>;
  /** Registers the status callback; the backend calls it whenever a Service's cloud status changes. */
  onStatus(listener: (key: string, status: BackendStatus) => void): void;
  /**
   * Called when a newly active controller has applied every opted-in Service once: cloud state that was not
   * re-applied since the backend started belongs to no Service and may go.
   */
  resynced?(): void;
  /** Every pod change, for backends that act on pods themselves (e.g. egress); `nodeIP` is its node's. */
  podChanged?(pod: PodView, nodeIP: string | undefined): void;
  podDeleted?(uid: string): void;
  /** JSON snapshots the controller serves at `/debug/<path>` on its metrics address. */
  debug?(): Readonly<Record<string, () => unknown>>;
}

/** An exporter publishes the metrics registry: served at `path` on the metrics address, or pushed elsewhere. */
export interface MetricsExporter {
  readonly path?: string;
  readonly contentType?: string;
  render?(): string | Promise<string>;
}

export interface PluginInstances {
  strategy: LeaderStrategy;
  health: HealthChecker;
  backend: CloudBackend;
  exporter: MetricsExporter;
}

/** A definition whose instance type matches its kind. */
export type Plugin<K extends PluginKind = PluginKind, O = unknown> = PluginDefinition<
  K,
  O,
  PluginInstances[K]
>;
