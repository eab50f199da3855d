/**
 * The plugin contract. Every strategy, health checker, cloud backend and metrics exporter, built-in or a user's,
 * is a `PluginDefinition`; the kernel validates its options, calls `setup` in dependency order and `close` in
 * reverse.
 */
import type { GenericSchema } from "valibot";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";

/**
 * A valibot schema (valibot's own `GenericSchema`; plugins import valibot themselves to write one). Internal only
 * so that `deno doc --lint` does not ask for valibot's types to be re-exported: it flags another package's types
 * as private.
 *
 * @internal
 */
// deno-lint-ignore no-explicit-any
type ValibotSchema<I = any, O = any> = GenericSchema<I, O>;

/** The four kinds of plugin: a leader strategy, a health checker, a cloud backend, a metrics exporter. */
export type PluginKind = "strategy" | "health" | "backend" | "exporter";
/** Every plugin kind, in the order the kernel lists them. */
export const PLUGIN_KINDS: readonly PluginKind[] = ["strategy", "health", "backend", "exporter"];

/** What a plugin gets from the kernel: its validated options and the process's shared services. */
export interface PluginContext<O = unknown> {
  /** The plugin's name, as in its definition and the ConfigMap. */
  readonly name: string;
  /** The plugin's options from the ConfigMap, validated (and defaulted) by its `options` schema. */
  readonly options: O;
  /** A logger whose records carry `plugin: <name>`. */
  readonly logger: Logger;
  /** The process's metrics registry; name a plugin's metrics `zen_lead_<plugin>_...`. */
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
  /** Whether this replica holds the Lease now. */
  readonly active: boolean;
  /** Calls `listener` on every change; returns a function that unsubscribes. */
  subscribe(listener: (active: boolean) => void): () => void;
}

/** Any valibot schema, whatever it parses: how the kernel holds a plugin's schema. */
export type AnySchema = ValibotSchema;

/**
 * One plugin: its identity, its options schema and how to make and end its instance. `O` is the type of its
 * validated options (inferred from `options`), `I` the instance `setup` returns, which `close` receives.
 */
export interface PluginDefinition<K extends PluginKind = PluginKind, O = unknown, I = unknown> {
  /** The unique name the ConfigMap and Service annotations use (e.g. `node-aware`). */
  readonly name: string;
  /** What the plugin is; the `define*` helpers set it. */
  readonly kind: K;
  /** The plugin's own version, shown by `/readyz`, logs and `zen-lead explain`. */
  readonly version: string;
  /** One line saying what the plugin does. */
  readonly description?: string;
  /** Names of plugins that must be set up before this one. */
  readonly dependsOn?: readonly string[];
  /** A valibot schema for the options in the ConfigMap; absent means the plugin takes none. */
  readonly options?: ValibotSchema<unknown, O>;
  /** Makes the instance; a throw (or rejection) marks the plugin failed and its kind's default takes over. */
  setup(ctx: PluginContext<O>): I | Promise<I>;
  /** Ends the instance `setup` returned (on reload or shutdown), after `ctx.signal` was aborted. */
  close?(instance: I): void | Promise<void>;
}

// ---- The domain as plugins see it: plain data, no Kubernetes client. ----

/** A pod as a strategy or checker sees it. Times are epoch milliseconds. */
export interface PodView {
  /** The pod's namespace. */
  namespace: string;
  /** The pod's name. */
  name: string;
  /** The pod's UID: strategies rank pods by it. */
  uid: string;
  /** The pod IP (`status.podIP`); empty while it has none. */
  ip: string;
  /** The node the pod is scheduled on. */
  nodeName?: string;
  /** The pod's labels. */
  labels: Readonly<Record<string, string>>;
  /** The pod's annotations. */
  annotations: Readonly<Record<string, string>>;
  /** When the pod was created (`metadata.creationTimestamp`). */
  createdAt: number;
  /** When the Ready condition last turned True. */
  readySince?: number;
  /** Named container ports, for probes and targetPort resolution. */
  ports: readonly { name?: string; port: number; protocol: string }[];
}

/** A node as a strategy sees it (only for strategies with `needsNodes`). */
export interface NodeView {
  /** The node's name. */
  name: string;
  /** The node's Ready condition: true, false or "Unknown" (unreachable). */
  ready: boolean | "Unknown";
  /** Whether the node is cordoned (`spec.unschedulable`). */
  unschedulable: boolean;
  /** The node's taints (`spec.taints`). */
  taints: readonly { key: string; value?: string; effect: string }[];
  /** The node's labels. */
  labels: Readonly<Record<string, string>>;
  /** The `topology.kubernetes.io/zone` label, when set. */
  zone?: string;
  /** The node's InternalIP address, when reported. */
  internalIP?: string;
}

/** One pod a strategy may choose as a leader, with its node. */
export interface Candidate {
  /** The pod. */
  pod: PodView;
  /** The pod's node, when the strategy needs nodes and the node is known. */
  node?: NodeView;
  /** `zen-lead.io/priority` from the pod's labels or annotations; 0 when absent. */
  priority: number;
}

/** The opted-in Service a decision is for. */
export interface ServiceView {
  /** The Service's namespace. */
  namespace: string;
  /** The Service's name. */
  name: string;
  /** The Service's UID. */
  uid: string;
  /** The Service's annotations (`zen-lead.io/...` among them). */
  annotations: Readonly<Record<string, string>>;
}

/** What a strategy's `rank` receives for one Service. */
export interface StrategyInput<O = unknown> {
  /** The Service whose leaders are chosen. */
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
  /** The decision's time, epoch milliseconds: use it instead of reading a clock. */
  now: number;
}

/** A leader strategy orders candidates; it must be pure and deterministic for a given input. */
export interface LeaderStrategy<O = unknown> {
  /** Validates per-Service strategy options (from the ConfigMap's per-strategy defaults). */
  readonly optionsSchema?: ValibotSchema<unknown, O>;
  /** Whether the controller must watch Nodes for this strategy. */
  readonly needsNodes?: boolean;
  /** Pod UIDs, best first; the kernel takes the first `count` after sticky and priority rules. */
  rank(input: StrategyInput<O>): readonly string[];
}

/** The outcome of one health check. */
export interface HealthResult {
  /** Whether the pod passed. */
  healthy: boolean;
  /** Why, in a few words: "HTTP 500", "connection refused", "NOT_SERVING", "timeout after 1000ms". */
  reason: string;
}

/** A health checker probes one pod once; scheduling, thresholds and concurrency are the kernel's job. */
export interface HealthChecker<S = unknown> {
  /** Validates the per-Service check spec (from `zen-lead.io/health-check` JSON). */
  readonly specSchema?: ValibotSchema<unknown, S>;
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
  /** The source Service's UID. */
  uid: string;
  /** The Service's ports, with each target port resolved to a number. */
  ports: readonly { name?: string; port: number; targetPort: number; protocol: string }[];
  /** Leader endpoints in order: pod IP and the IP of the node it runs on. */
  leaders: readonly { podName: string; podUID: string; podIP: string; nodeName?: string; nodeIP?: string }[];
}

/** What a backend reports back; the controller writes it to the Service's status.loadBalancer. */
export interface BackendStatus {
  /** The addresses the cloud serves the Service on. */
  ingress: readonly { ip?: string; hostname?: string }[];
  /**
   * A problem the backend has with the Service (e.g. an operation parked after ARM refused it): recorded as a
   * Warning Event on the Service; a status carrying it leaves `ingress` as it is (it is not written).
   */
  warning?: { reason: string; message: string };
}

/** A cloud backend routes cloud traffic to a Service's leaders and reports the addresses it serves them on. */
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
  /** A pod was deleted, for backends that act on pods themselves. */
  podDeleted?(uid: string): void;
  /** JSON snapshots the controller serves at `/debug/<path>` on its metrics address. */
  debug?(): Readonly<Record<string, () => unknown>>;
}

/** An exporter publishes the metrics registry: served at `path` on the metrics address, or pushed elsewhere. */
export interface MetricsExporter {
  /** The HTTP path it serves on the metrics address (e.g. `/metrics`); absent for a push exporter. */
  readonly path?: string;
  /** The Content-Type of what `render` returns. */
  readonly contentType?: string;
  /** The body served at `path`. */
  render?(): string | Promise<string>;
}

/** The instance type of each plugin kind. */
export interface PluginInstances {
  /** A strategy plugin's instance. */
  strategy: LeaderStrategy;
  /** A health checker plugin's instance. */
  health: HealthChecker;
  /** A backend plugin's instance. */
  backend: CloudBackend;
  /** An exporter plugin's instance. */
  exporter: MetricsExporter;
}

/**
 * What a `define*` helper of `mod.ts` takes: a definition without its `kind`, which the helper adds.
 * `I` is the exact instance type `setup` returns, so `close` receives it without a cast.
 */
export type PluginDefinitionInput<K extends PluginKind, O, I> = Omit<PluginDefinition<K, O, I>, "kind">;

/** A definition whose instance type matches its kind. */
export type Plugin<K extends PluginKind = PluginKind, O = unknown> = PluginDefinition<
  K,
  O,
  PluginInstances[K]
>;
