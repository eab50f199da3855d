/**
 * The leader controller: informers (sources) whose handlers map events to Service keys, one deduplicating work
 * queue, and the reconciler. Standby replicas keep their caches warm and skip reconciles until they lead.
 */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Informer } from "../kube/informer.ts";
import { isUnavailable } from "../kube/errors.ts";
import type { EndpointSlice, KubeObject, Node, Pod, Service } from "../kube/types.ts";
import { objectKey } from "../kube/types.ts";
import { WorkQueue } from "../queue/workqueue.ts";
import { reconcileHandler } from "../queue/reconcile.ts";
import { ProbeScheduler } from "../probing/scheduler.ts";
import { toPodView } from "../leader/pods.ts";
import { LeaderHistory } from "../status/history.ts";
import { traceReconcile } from "../tracing/reconcile.ts";
import { safeInterval } from "../timers.ts";
import { NotActiveError, reconcileErrorOutcome, WriteConflictError } from "./errors.ts";
import { KubeEventRecorder, serviceTarget } from "./events.ts";
import {
  type Enqueue,
  managedSource,
  nodeHandlers,
  podHandlers,
  probeTransitionHandler,
  serviceHandlers,
  servicesOnNode,
  servicesSelecting,
  sliceHandlers,
} from "./handlers.ts";
import { KubeLeaderApi } from "./kube_api.ts";
import { controllerMetrics } from "./metrics.ts";
import { WriteOverlay } from "./overlay.ts";
import type { PluginAccess } from "./plugin_access.ts";
import { PodWatchScopes } from "./pod_scopes.ts";
import { optedIn } from "./predicates.ts";
import { Reconciler } from "./reconciler.ts";
import { createSources } from "./sources.ts";
import { INDEX } from "./stores.ts";
import { TriggerTracker } from "./latency.ts";
import type { WriteOverlays } from "./writer.ts";
import { CacheGate } from "../kube/cache_gate.ts";
import { StaleCacheError } from "../kube/staleness.ts";
import { sleep } from "../time/sleep.ts";

export interface LeaderControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Namespaces to watch; empty means cluster-wide. */
  namespaces: readonly string[];
  workers: number;
  /** Whether Nodes can be watched (a namespace-scoped install has no ClusterRole for them). */
  watchNodes: boolean;
  plugins: PluginAccess;
  /** `--max-cache-size-per-namespace`: bounds the parsed-settings memo (never the informer caches). */
  maxCacheSizePerNamespace?: number;
  /** Writes Events; a client with a rate limit of its own, so Events never delay a routing write. */
  eventsClient?: KubeClient;
  /** True only while this replica holds the Lease and may write. */
  canWrite(): boolean;
  stallTimeoutMs?: number;
  probeConcurrency?: number;
  /** Timeout of each list page of the informers (`--cache-update-timeout-seconds`). */
  listTimeoutMs?: () => number;
  /** Beyond this many namespaces with opted-in Services, pods are watched cluster-wide in one watch (default 100). */
  maxPodWatchNamespaces?: number;
}

export class LeaderController {
  readonly services: Informer<Service>;
  readonly pods: Informer<Pod>;
  readonly slices: Informer<EndpointSlice>;
  readonly nodes?: Informer<Node>;
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  /** zen-lead's own writes of leader objects, laid over the caches until the watch shows them. */
  readonly overlay: WriteOverlays = {
    services: new WriteOverlay<Service>(),
    slices: new WriteOverlay<EndpointSlice>(),
  };
  readonly probes: ProbeScheduler;
  readonly triggers = new TriggerTracker();
  readonly events: KubeEventRecorder;
  /** Recent leader changes per Service (status endpoint and page). */
  readonly history = new LeaderHistory();
  /** Holds a Service's writes while a cache its decision reads is stale: the last routing stays meanwhile. */
  readonly caches: CacheGate;
  private readonly reconciledListeners = new Set<(key: string) => void>();
  private readonly m;
  private active = false;
  private sizeTimer?: ReturnType<typeof setInterval>;
  /** Which namespaces' pods are watched. */
  private readonly podScopes: PodWatchScopes;
  private podsInitiallySynced = false;

  constructor(private readonly o: LeaderControllerOptions) {
    const log = o.logger.child({ component: "controller" });
    this.m = controllerMetrics(o.metrics);
    const sources = createSources({ ...o, logger: log });
    this.services = sources.services;
    this.pods = sources.pods;
    this.slices = sources.slices;
    this.nodes = sources.nodes;
    this.podScopes = new PodWatchScopes({
      optedInServices: (ns) => this.services.byIndex(INDEX.namespace, ns),
      isOptedIn: (key) => {
        const svc = this.services.get(key);
        return svc !== undefined && optedIn(svc);
      },
      pods: this.pods,
      installNamespaces: o.namespaces,
      backendsEnabled: () => (o.plugins.backends?.() ?? []).length > 0,
      maxNamespaces: o.maxPodWatchNamespaces ?? 100,
    });

    this.caches = new CacheGate(
      [this.services, this.pods, this.slices, ...(this.nodes ? [this.nodes] : [])].map((i) => i.staleness),
      (key) => this.queue.add(key),
      log,
    );
    this.probes = new ProbeScheduler({ concurrency: o.probeConcurrency, metrics: o.metrics, logger: log });
    this.events = new KubeEventRecorder(KubeLeaderApi.eventSink(o.eventsClient ?? o.client), log);
    this.reconciler = new Reconciler({
      stores: { services: this.services, pods: this.pods, slices: this.slices, nodes: this.nodes },
      overlay: this.overlay,
      api: new KubeLeaderApi(o.client, () => {
        if (!(this.active && o.canWrite())) throw new NotActiveError();
        if (!this.caches.fresh()) throw new StaleCacheError();
      }),
      events: this.events,
      metrics: this.m,
      plugins: o.plugins,
      probes: this.probes,
      triggers: this.triggers,
      logger: log,
      canWrite: () => this.active && o.canWrite(),
      maxCacheSizePerNamespace: o.maxCacheSizePerNamespace,
      history: this.history,
    });
    const reconcile = reconcileHandler({
      reconcile: (key, run) => this.reconciler.reconcile(key, run.log),
      logger: log,
      metrics: this.m,
      classify: (e, key) =>
        e instanceof StaleCacheError
          ? { result: "held", retry: false, then: () => this.caches.hold(key) }
          : reconcileErrorOutcome(e),
      around: (key, reconcileID, run) => traceReconcile(key, reconcileID, this.triggers.peek(key), run),
      onSuccess: (key) => {
        for (const l of this.reconciledListeners) l(key);
      },
    });
    this.queue = new WorkQueue({
      name: "services",
      workers: o.workers,
      logger: log,
      metrics: o.metrics,
      // Outages and 409s while the cache catches up are not the Service's fault: they never park it.
      countsTowardDeadLetter: (error) => !isUnavailable(error) && !(error instanceof WriteConflictError),
      onDeadLetter: (key, failures, error) => {
        const src = this.services.get(key);
        if (!src || !this.active) return;
        this.events.record(
          serviceTarget(src),
          "Warning",
          "ReconcileParked",
          `reconcile failed ${failures} times in a row (last: ${
            String((error as Error)?.message ?? error).slice(0, 200)
          }); ` +
            "retried every 5 minutes or when the Service changes",
        );
      },
      handler: async (key, ctx) => {
        if (!this.active) return;
        if (!this.podScopes.podsCachedFor(key)) return; // reconciled once its namespace's pods are listed
        if (!this.caches.fresh(key)) return this.hold(key);
        return await reconcile(key, ctx);
      },
    });
    this.wireHandlers();
    // Back after an outage: whatever was parked meanwhile gets a prompt try.
    o.client.reachability.onRecovered(() => this.queue.unparkAll());
  }

  /** No write from a stale cache: the key runs again when the caches it reads have relisted. */
  private hold(key: string): void {
    this.m.reconciliations.inc({ result: "held" });
    this.caches.hold(key);
  }

  /** Points the pod informer at the namespaces that hold opted-in Services (all pods while a backend runs). */
  applyPodScopes(): void {
    this.podScopes.apply();
  }

  /** Queues a Service key, noting when the change behind it was observed. */
  private readonly enqueue: Enqueue = (key, cause) => {
    if (cause) this.triggers.note(key, Date.now(), cause);
    this.queue.add(key);
  };

  private wireHandlers(): void {
    const enqueue = this.enqueue;
    this.services.addHandlers(serviceHandlers({
      enqueue,
      namespaceTouched: (ns) => this.podScopes.noteNamespace(ns),
      unpark: (key) => this.queue.unpark(key),
      leaderServiceSeen: (s) => this.overlay.services.view(objectKey(s), s),
      forget: (uid) => this.reconciler.forgetService(uid),
    }));
    this.pods.addHandlers(podHandlers({
      enqueue,
      selecting: (ns, ...labelSets) => servicesSelecting(this.services, ns, ...labelSets),
      podChanged: (p) => this.podToBackends(p),
      podDeleted: (p) => {
        if (!this.active) return;
        for (const b of this.o.plugins.backends?.() ?? []) b.podDeleted?.(p.metadata.uid ?? "");
      },
    }));
    this.slices.addHandlers(sliceHandlers({
      enqueue,
      sliceSeen: (s) => this.overlay.slices.view(objectKey(s), s),
      sliceDeleted: (s, source) => this.noteSliceDeleted(s, source),
    }));
    this.nodes?.addHandlers(nodeHandlers({
      enqueue,
      servicesOn: (node) => servicesOnNode(this.services, this.pods, node),
    }));
    // A namespace's first pod list is in: its opted-in Services can be decided (they waited in podsCachedFor).
    this.pods.onScopeSynced((ns) => {
      const services = ns === "" ? this.services.list() : this.services.byIndex(INDEX.namespace, ns);
      for (const s of services) if (optedIn(s)) enqueue(objectKey(s));
      this.applyPodScopes();
    });
    this.probes.onTransition(probeTransitionHandler(enqueue));
  }

  /** A slice deleted by someone else while its Service is still opted in: say so (the reconcile repairs it). */
  private noteSliceDeleted(s: EndpointSlice, source: string): void {
    const key = objectKey(s);
    const src = this.services.get(source);
    if (this.active && src && optedIn(src) && !this.overlay.slices.deletedByUs(key)) {
      this.events.record(
        serviceTarget(src),
        "Warning",
        "EndpointSliceDeleted",
        `EndpointSlice ${key} managed by zen-lead was deleted; it is being recreated`,
      );
    }
  }

  /** Calls `listener` with the key of every Service after a successful reconcile (the status page). */
  onReconciled(listener: (key: string) => void): () => void {
    this.reconciledListeners.add(listener);
    return () => this.reconciledListeners.delete(listener);
  }

  /** Re-reconciles every opted-in Service (configuration or plugin change, new leadership). */
  enqueueAll(): void {
    this.applyPodScopes(); // a backend configured or removed changes which pods are watched
    for (const s of this.services.list()) if (optedIn(s)) this.queue.add(objectKey(s));
    // Managed objects whose source opted out while no replica was active are cleaned up too.
    for (const s of this.services.list()) {
      const source = managedSource(s);
      if (source) this.queue.add(source);
    }
  }

  /** Starts the informers; resolves when their caches are synced. */
  async start(signal: AbortSignal): Promise<void> {
    const informers: Informer<KubeObject>[] = [this.services, this.pods, this.slices] as Informer<
      KubeObject
    >[];
    if (this.nodes) informers.push(this.nodes as Informer<KubeObject>);
    for (const inf of informers) {
      inf.run(signal).catch((e) => this.o.logger.error("informer stopped", { error: e }));
    }
    // Which namespaces' pods to list is known once the Services are.
    await this.services.waitForSync(signal);
    this.podScopes.start();
    await Promise.all(informers.map((i) => i.waitForSync(signal)));
    this.podsInitiallySynced = true;
    this.sizeTimer = safeInterval(() => {
      this.m.cacheSize.set({ resource: "services" }, this.services.size);
      this.m.cacheSize.set({ resource: "pods" }, this.pods.size);
      this.m.cacheSize.set({ resource: "endpointslices" }, this.slices.size);
      if (this.nodes) this.m.cacheSize.set({ resource: "nodes" }, this.nodes.size);
    }, 5000);
  }

  /** Undefined while every informer's watch loop runs (see Informer.notLiveReason). */
  notLiveReason(): string | undefined {
    const informers = [this.services, this.pods, this.slices, ...(this.nodes ? [this.nodes] : [])];
    for (const i of informers) {
      const why = i.notLiveReason();
      if (why) return why;
    }
    return undefined;
  }

  synced(): boolean {
    // Pods count once (the first lists): a namespace opting in later must not make the replica unready.
    return this.services.hasSynced() && this.podsInitiallySynced && this.slices.hasSynced() &&
      (this.nodes?.hasSynced() ?? true);
  }

  /** This replica now leads: reconcile everything once. */
  activate(): void {
    this.active = true;
    this.m.replicaActive.set(undefined, 1);
    this.replayPodsToBackends();
    this.enqueueAll();
    void this.announceResync();
  }

  /** Backends that act on pods (egress) start each term, or each re-creation, with every pod. */
  replayPodsToBackends(): void {
    for (const p of this.pods.list()) this.podToBackends(p);
  }

  private podToBackends(p: Pod): void {
    if (!this.active) return;
    const backends = this.o.plugins.backends?.() ?? [];
    if (backends.length === 0) return;
    const node = p.spec?.nodeName ? this.nodes?.get(p.spec.nodeName) : undefined;
    const nodeIP = node?.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    const view = toPodView(p);
    for (const b of backends) b.podChanged?.(view, nodeIP);
  }

  /**
   * Once the first pass over every Service of this term has finished, backends learn that whatever cloud state
   * was not re-applied belongs to no Service.
   */
  private async announceResync(): Promise<void> {
    // Keys in backoff count as not done (their backend state was never applied); a bound keeps a Service that
    // keeps failing from holding the resync back for ever (the backend's own orphan grace covers that case).
    const deadline = Date.now() + 5 * 60_000;
    const busy = () => {
      const s = this.queue.stats();
      return s.depth + s.processing + s.waiting > 0;
    };
    while (this.active && !this.queue.shuttingDown && busy() && Date.now() < deadline) {
      await sleep(100);
    }
    if (!this.active) return;
    for (const b of this.o.plugins.backends?.() ?? []) b.resynced?.();
  }

  /** This replica lost the Lease: stop writing at once. */
  deactivate(): void {
    this.active = false;
    this.m.replicaActive.set(undefined, 0);
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Stops intake, waits for in-flight reconciles up to `graceMs`, then for Events still being written. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.sizeTimer !== undefined) clearInterval(this.sizeTimer);
    await this.queue.shutdown(graceMs);
    this.probes.close();
    const deadline = Date.now() + Math.min(graceMs, 2000);
    while (this.events.inFlight > 0 && Date.now() < deadline) await sleep(10);
  }
}
