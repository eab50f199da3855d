/**
 * The leader controller: informers (sources) whose handlers map events to Service keys, one deduplicating work
 * queue, and the reconciler. Standby replicas keep their caches warm and skip reconciles until they lead.
 */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { KubeClient } from "../kube/client.ts";
import { dropManagedFields, Informer } from "../kube/informer.ts";
import { isUnavailable } from "../kube/errors.ts";
import { EndpointSlices, Nodes, Pods, Services } from "../kube/paths.ts";
import type { EndpointSlice, KubeObject, Node, Pod, Service } from "../kube/types.ts";
import { objectKey } from "../kube/types.ts";
import { WorkQueue } from "../queue/workqueue.ts";
import { ProbeScheduler } from "../probing/scheduler.ts";
import { ANN, isOptedIn, LABEL, MANAGER } from "../leader/annotations.ts";
import { selectorMatches, toPodView } from "../leader/pods.ts";
import { KubeEventRecorder, serviceTarget } from "./events.ts";
import { KubeLeaderApi } from "./kube_api.ts";
import { controllerMetrics } from "./metrics.ts";
import { traceReconcile } from "../tracing/reconcile.ts";
import { NotLeaderError, type PluginAccess, Reconciler, WriteConflictError } from "./reconciler.ts";
import { INDEX } from "./stores.ts";
import { TriggerTracker } from "./latency.ts";
import { LeaderHistory } from "../status/history.ts";
import { nodeTransform, podTransform, relevantPodChange, serviceTransform } from "./transforms.ts";
import { desiredPodScopes } from "./pod_scopes.ts";
import { safeInterval } from "../timers.ts";
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
  readonly probes: ProbeScheduler;
  readonly triggers = new TriggerTracker();
  readonly events: KubeEventRecorder;
  /** Recent leader changes per Service (status endpoint and page). */
  readonly history = new LeaderHistory();
  /** Holds a Service's writes while a cache its decision reads is stale (SPEC: keep the last routing). */
  readonly caches: CacheGate;
  private readonly reconciledListeners = new Set<(key: string) => void>();
  private readonly m;
  private active = false;
  private sizeTimer?: ReturnType<typeof setInterval>;
  /** Namespaces holding an opted-in Service: the pods watched (see pod_scopes.ts). */
  private readonly optedNamespaces = new Set<string>();
  /** Pod scopes follow the opted-in namespaces once the Services are listed. */
  private podScopesLive = false;
  private podsInitiallySynced = false;

  constructor(private readonly o: LeaderControllerOptions) {
    const log = o.logger.child({ component: "controller" });
    this.m = controllerMetrics(o.metrics);
    const common = {
      client: o.client,
      namespaces: o.namespaces,
      logger: log,
      metrics: o.metrics,
      stallTimeoutMs: o.stallTimeoutMs,
      listTimeoutMs: o.listTimeoutMs,
    };
    this.services = new Informer<Service>({ ...common, resource: Services, transform: serviceTransform });
    // Pods are watched per namespace that holds an opted-in Service (applyPodScopes), not cluster-wide.
    this.pods = new Informer<Pod>({
      ...common,
      namespaces: [],
      dynamicScopes: true,
      resource: Pods,
      transform: podTransform,
    });
    this.slices = new Informer<EndpointSlice>({
      ...common,
      resource: EndpointSlices,
      labelSelector: `${LABEL.sliceManagedBy}=${MANAGER}`,
      transform: dropManagedFields,
    });
    if (o.watchNodes) {
      this.nodes = new Informer<Node>({
        ...common,
        namespaces: [],
        resource: Nodes,
        transform: nodeTransform,
      });
    }

    this.services.addIndex(
      INDEX.namespace,
      (s) => isOptedIn(s.metadata.annotations) ? [s.metadata.namespace ?? ""] : [],
    );
    this.services.addIndex(INDEX.source, sourceIndex);
    this.slices.addIndex(INDEX.source, sourceIndex);
    this.pods.addIndex(INDEX.namespace, (p) => [p.metadata.namespace ?? ""]);
    this.pods.addIndex(INDEX.node, (p) => p.spec?.nodeName ? [p.spec.nodeName] : []);

    this.caches = new CacheGate(
      [this.services, this.pods, this.slices, ...(this.nodes ? [this.nodes] : [])].map((i) => i.staleness),
      (key) => this.queue.add(key),
      log,
    );
    this.probes = new ProbeScheduler({ concurrency: o.probeConcurrency, metrics: o.metrics, logger: log });
    this.events = new KubeEventRecorder(KubeLeaderApi.eventSink(o.eventsClient ?? o.client), log);
    this.reconciler = new Reconciler({
      stores: { services: this.services, pods: this.pods, slices: this.slices, nodes: this.nodes },
      api: new KubeLeaderApi(o.client, () => {
        if (!(this.active && o.canWrite())) throw new NotLeaderError();
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
      handler: async (key) => {
        if (!this.active) return;
        if (!this.podsCachedFor(key)) return; // reconciled when its namespace's pods are listed (onScopeSynced)
        if (!this.caches.fresh(key)) return this.hold(key);
        const started = performance.now();
        const reconcileID = crypto.randomUUID().slice(0, 8);
        try {
          const r = await traceReconcile(
            key,
            reconcileID,
            this.triggers.peek(key),
            () => this.reconciler.reconcile(key, log.child({ reconcileID, key })),
          );
          this.m.reconciliations.inc({ result: "success" });
          for (const l of this.reconciledListeners) l(key);
          return r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : undefined;
        } catch (e) {
          if (e instanceof NotLeaderError) {
            this.m.reconciliations.inc({ result: "skipped" });
            return;
          }
          if (e instanceof StaleCacheError) return this.hold(key);
          if (e instanceof WriteConflictError) {
            // Not a failure: the queue's backoff gives the cache time to catch up before the next decision.
            this.m.reconciliations.inc({ result: "conflict" });
            log.info("write conflict; requeued", { key, reconcileID, object: e.key });
            throw e;
          }
          this.m.reconciliations.inc({ result: "error" });
          log.error("reconcile failed", { key, reconcileID, error: e });
          throw e;
        } finally {
          this.m.reconcileDuration.observe(undefined, (performance.now() - started) / 1000);
        }
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

  /** False for an opted-in Service whose namespace's pods are not listed yet: deciding now would see none. */
  private podsCachedFor(key: string): boolean {
    const ns = key.slice(0, key.indexOf("/"));
    if (this.pods.scopeSynced(ns)) return true;
    const svc = this.services.get(key);
    if (!svc || !isOptedIn(svc.metadata.annotations)) return true;
    this.noteNamespace(ns);
    return false;
  }

  /** Re-reads whether `ns` holds an opted-in Service; opens or closes its pod watch when that changed. */
  private noteNamespace(ns: string): void {
    const has = this.services.byIndex(INDEX.namespace, ns).length > 0;
    if (has === this.optedNamespaces.has(ns)) return;
    if (has) this.optedNamespaces.add(ns);
    else this.optedNamespaces.delete(ns);
    this.applyPodScopes();
  }

  /** Points the pod informer at the namespaces that hold opted-in Services (all pods while a backend runs). */
  applyPodScopes(): void {
    if (!this.podScopesLive) return;
    const want = desiredPodScopes({
      optedIn: this.optedNamespaces,
      installNamespaces: this.o.namespaces,
      allPods: (this.o.plugins.backends?.() ?? []).length > 0,
      maxNamespaces: this.o.maxPodWatchNamespaces ?? 100,
    });
    // Leaving the cluster-wide watch: it keeps delivering until each namespace's own list is in.
    const current = this.pods.watchedScopes;
    if (current.includes("") && !want.includes("") && !want.every((ns) => this.pods.scopeListed(ns))) {
      want.push("");
    }
    const same = want.length === current.length && want.every((ns) => current.includes(ns));
    if (!same) this.pods.setScopes(want);
  }

  private enqueue(key: string, cause?: string): void {
    if (cause) this.triggers.note(key, Date.now(), cause);
    this.queue.add(key);
  }

  /** Opted-in Services whose selector matches any of the label sets. */
  private servicesSelecting(
    namespace: string,
    ...labelSets: (Record<string, string> | undefined)[]
  ): string[] {
    const keys: string[] = [];
    for (const s of this.services.byIndex(INDEX.namespace, namespace)) {
      const sel = s.spec?.selector ?? {};
      if (labelSets.some((l) => selectorMatches(sel, l))) keys.push(objectKey(s));
    }
    return keys;
  }

  private wireHandlers(): void {
    const onService = (s: Service) => {
      this.noteNamespace(s.metadata.namespace ?? "");
      // A change by the user is worth a prompt try even for a key parked after failing.
      this.queue.unpark(objectKey(s));
      if (isOptedIn(s.metadata.annotations)) this.enqueue(objectKey(s));
      const source = managedSource(s);
      if (source) {
        this.reconciler.services.view(objectKey(s), s); // the watch caught up: drop our copy of the write
        this.enqueue(source);
      }
    };
    this.services.addHandlers({
      add: onService,
      update: (old, s) => {
        onService(s);
        // Opting out needs a reconcile too: it cleans up.
        if (isOptedIn(old.metadata.annotations) && !isOptedIn(s.metadata.annotations)) {
          this.enqueue(objectKey(s));
        }
      },
      delete: (s) => {
        this.noteNamespace(s.metadata.namespace ?? "");
        if (isOptedIn(s.metadata.annotations)) {
          this.enqueue(objectKey(s));
          if (s.metadata.uid) this.reconciler.forgetService(s.metadata.uid);
        }
        const source = managedSource(s);
        if (source) this.enqueue(source);
      },
    });

    this.pods.addHandlers({
      add: (p) => {
        this.podToBackends(p);
        for (const k of this.servicesSelecting(p.metadata.namespace ?? "", p.metadata.labels)) {
          this.enqueue(k, "podAdded");
        }
      },
      update: (old, p) => {
        if (!relevantPodChange(old, p)) return;
        this.podToBackends(p);
        const keys = this.servicesSelecting(
          p.metadata.namespace ?? "",
          old.metadata.labels,
          p.metadata.labels,
        );
        for (const k of keys) this.enqueue(k, "podChanged");
      },
      delete: (p) => {
        if (this.active) {
          for (const b of this.o.plugins.backends?.() ?? []) b.podDeleted?.(p.metadata.uid ?? "");
        }
        for (const k of this.servicesSelecting(p.metadata.namespace ?? "", p.metadata.labels)) {
          this.enqueue(k, "podDeleted");
        }
      },
    });

    const onSlice = (s: EndpointSlice) => {
      this.reconciler.slices.view(objectKey(s), s); // the watch caught up: drop our copy of the write
      const source = managedSource(s);
      if (source) this.enqueue(source);
    };
    this.slices.addHandlers({
      add: onSlice,
      update: (_old, s) => onSlice(s),
      delete: (s) => {
        const source = managedSource(s);
        if (!source) return;
        const key = objectKey(s);
        const src = this.services.get(source);
        // A slice deleted by someone else while its Service is still opted in: say so, then repair it.
        if (
          this.active && src && isOptedIn(src.metadata.annotations) &&
          !this.reconciler.slices.deletedByUs(key)
        ) {
          this.events.record(
            serviceTarget(src),
            "Warning",
            "EndpointSliceDeleted",
            `EndpointSlice ${key} managed by zen-lead was deleted; it is being recreated`,
          );
        }
        this.enqueue(source, "sliceDeleted");
      },
    });

    this.nodes?.addHandlers({
      update: (old, n) => {
        if (JSON.stringify(nodeState(old)) === JSON.stringify(nodeState(n))) return;
        this.enqueueForNode(n.metadata.name ?? "");
      },
      delete: (n) => this.enqueueForNode(n.metadata.name ?? ""),
    });

    // A namespace's first pod list is in: its opted-in Services can be decided (they waited in podsCachedFor).
    this.pods.onScopeSynced((ns) => {
      const services = ns === "" ? this.services.list() : this.services.byIndex(INDEX.namespace, ns);
      for (const s of services) if (isOptedIn(s.metadata.annotations)) this.queue.add(objectKey(s));
      this.applyPodScopes();
    });

    this.probes.onTransition((serviceKey, _pod, healthy) => {
      this.enqueue(serviceKey, healthy ? "probePassed" : "probeFailed");
    });
  }

  private enqueueForNode(node: string): void {
    const keys = new Set<string>();
    for (const p of this.pods.byIndex(INDEX.node, node)) {
      for (const k of this.servicesSelecting(p.metadata.namespace ?? "", p.metadata.labels)) keys.add(k);
    }
    for (const k of keys) this.enqueue(k, "nodeChanged");
  }

  /** Calls `listener` with the key of every Service after a successful reconcile (the status page). */
  onReconciled(listener: (key: string) => void): () => void {
    this.reconciledListeners.add(listener);
    return () => this.reconciledListeners.delete(listener);
  }

  /** Re-reconciles every opted-in Service (configuration or plugin change, new leadership). */
  enqueueAll(): void {
    this.applyPodScopes(); // a backend configured or removed changes which pods are watched
    for (const s of this.services.list()) if (isOptedIn(s.metadata.annotations)) this.queue.add(objectKey(s));
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
    this.podScopesLive = true;
    this.applyPodScopes();
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

/** `namespace/source` for a managed leader Service or slice. */
function managedSource(obj: KubeObject): string | undefined {
  const l = obj.metadata.labels ?? {};
  if (l[LABEL.managedBy] !== MANAGER || !l[LABEL.sourceService]) return undefined;
  return `${obj.metadata.namespace}/${l[LABEL.sourceService]}`;
}

function sourceIndex(obj: KubeObject): string[] {
  const s = managedSource(obj);
  return s ? [s] : [];
}

function nodeState(n: Node) {
  return {
    ready: n.status?.conditions?.find((c) => c.type === "Ready")?.status,
    unschedulable: n.spec?.unschedulable ?? false,
    taints: n.spec?.taints ?? [],
    labels: n.metadata.labels,
    ip: n.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
  };
}

export { ANN };
