/**
 * An informer: lists a resource (paginated), then watches from the listed resourceVersion with bookmarks, keeps
 * a cache and calls handlers in order. It restarts a watch that stalls (no event or bookmark within
 * `stallTimeoutMs`), relists on 410 Gone delivering the difference as add/update/delete, and backs off on errors.
 * Several namespaces run one list/watch loop each (namespace-scoped installs have Roles, not ClusterRoles); with
 * `dynamicScopes` the namespaces change at run time (setScopes), each new one listed before it counts as synced.
 */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { backoffDelay, type BackoffPolicy, type Random } from "../time/backoff.ts";
import { sleep } from "../time/sleep.ts";
import type { KubeClient } from "./client.ts";
import { isGone, isUnavailable } from "./errors.ts";
import { resourcePath, type ResourceType } from "./paths.ts";
import { relistDiff } from "./relist_diff.ts";
import { type IndexFunc, ObjectStore } from "./store.ts";
import { type KubeObject, objectKey } from "./types.ts";
import { safeTimeout } from "../timers.ts";

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  resource: ResourceType;
  /** Namespaces to watch; empty or absent means cluster-wide (or a cluster-scoped resource). */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * The namespaces watched change at run time through setScopes (starting from `namespaces`, empty meaning none,
   * not cluster-wide); `""` among them is the whole cluster.
   */
  dynamicScopes?: boolean;
  /** Trims an object before it is stored and handed to handlers (drop managedFields, unused spec...). */
  transform?: (obj: T) => T;
  /** Page size of the list (default 500). */
  pageSize?: number;
  /** Timeout of each list page (`--cache-update-timeout-seconds`); read at every list so reloads apply. */
  listTimeoutMs?: () => number;
  /** Server-side watch timeout; each watch draws from [this, 2x this) seconds (default 300). */
  watchTimeoutSeconds?: number;
  /** No event and no bookmark for this long means the watch is dead (default 150 s; bookmarks come each ~60 s). */
  stallTimeoutMs?: number;
  /** Backoff between failed lists/watches (default 500 ms doubling to 30 s). */
  backoff?: BackoffPolicy;
  logger: Logger;
  metrics: MetricsRegistry;
  random?: Random;
}

/** Why a watch was restarted: the `reason` label of zen_lead_watch_restarts_total. */
export type WatchRestartReason = "stall" | "expired" | "error" | "closed" | "recovered";

class WatchStalled extends Error {}
/** The API server answers again after an outage: a watch that saw nothing since may sit on a dead connection. */
class WatchAfterOutage extends Error {}

export class Informer<T extends KubeObject> {
  private readonly store = new ObjectStore<T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly synced = new Set<string>();
  private readonly scopes: Set<string>;
  /** The running loop of each scope, aborted when the scope is removed. */
  private readonly loops = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private runSignal?: AbortSignal;
  private readonly scopeSyncedListeners: ((namespace: string) => void)[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private readonly openWatches = new Set<{ abort: AbortController; lastEventAt: number }>();
  /** Scopes whose list/watch loop ended while it should still run. */
  private readonly deadLoops = new Set<string>();
  private readonly log: Logger;
  private readonly label: string;
  private readonly random: Random;
  private readonly metrics;

  constructor(private readonly opts: InformerOptions<T>) {
    const res = opts.resource;
    this.scopes = opts.dynamicScopes
      ? new Set(opts.namespaces ?? [])
      : new Set(res.namespaced && opts.namespaces?.length ? opts.namespaces : [""]);
    this.label = res.plural;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger.child({ informer: res.plural });
    this.metrics = {
      restarts: opts.metrics.counter({
        name: "zen_lead_watch_restarts_total",
        help:
          "Watches restarted, by resource and reason (stall, expired = 410 relist, error, closed by server).",
        labelNames: ["resource", "reason"],
      }),
      relists: opts.metrics.counter({
        name: "zen_lead_watch_relists_total",
        help: "Full lists of a resource (the first one and every one after a 410).",
        labelNames: ["resource"],
      }),
      objects: opts.metrics.gauge({
        name: "zen_lead_informer_objects",
        help: "Objects in an informer's cache.",
        labelNames: ["resource"],
      }),
    };
  }

  /** Restarts, after an outage, every watch that delivered nothing since it began. */
  private restartWatchesAfterOutage(downSince: number): void {
    for (const w of this.openWatches) {
      if (w.lastEventAt < downSince) w.abort.abort(new WatchAfterOutage("restart after outage"));
    }
  }

  /** Registers handlers; objects already cached are replayed to them as adds. */
  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    if (h.add) { for (const obj of this.store.list()) this.call("add", () => h.add!(obj)); }
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.store.addIndex(name, fn);
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    return this.store.list(namespace);
  }

  get size(): number {
    return this.store.size;
  }

  /** True once every namespace was listed. */
  hasSynced(): boolean {
    for (const ns of this.scopes) if (!this.synced.has(ns)) return false;
    return true;
  }

  /** The namespaces watched now (`""`: the whole cluster). */
  get watchedScopes(): string[] {
    return [...this.scopes];
  }

  /** True when the objects of `namespace` are cached: its own scope or the cluster-wide one was listed. */
  scopeSynced(namespace: string): boolean {
    return this.synced.has(namespace) || this.synced.has("");
  }

  /** True when `namespace`'s own scope (not the cluster-wide one) was listed. */
  scopeListed(namespace: string): boolean {
    return this.synced.has(namespace);
  }

  /** Calls `listener` when a scope's first list since it was added is in the cache. */
  onScopeSynced(listener: (namespace: string) => void): void {
    this.scopeSyncedListeners.push(listener);
  }

  /**
   * Watches exactly `namespaces` from now on (dynamicScopes): a new one is listed, then watched; a removed one's
   * watch is closed and its objects leave the cache without delete handlers (nothing watched them any more),
   * unless the cluster-wide scope still covers them.
   */
  setScopes(namespaces: Iterable<string>): void {
    const next = new Set(namespaces);
    for (const ns of [...this.scopes]) {
      if (next.has(ns)) continue;
      this.scopes.delete(ns);
      this.synced.delete(ns);
      this.deadLoops.delete(ns || "(all namespaces)");
      this.loops.get(ns)?.abort.abort();
      this.loops.delete(ns);
      if (ns === "") {
        for (const obj of this.store.list()) {
          if (!next.has(obj.metadata.namespace ?? "")) this.store.remove(objectKey(obj));
        }
      } else if (!next.has("")) {
        for (const obj of this.store.list(ns)) this.store.remove(objectKey(obj));
      }
    }
    for (const ns of next) {
      if (this.scopes.has(ns)) continue;
      this.scopes.add(ns);
      if (this.runSignal) this.startLoop(ns, this.runSignal);
    }
    this.metrics.objects.set({ resource: this.label }, this.store.size);
    if (this.hasSynced()) { for (const w of this.syncWaiters.splice(0)) w(); }
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /** Runs the list/watch loops until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const unsubscribe = this.opts.client.reachability.onRecovered((since) =>
      this.restartWatchesAfterOutage(since)
    );
    signal.addEventListener("abort", unsubscribe, { once: true });
    this.runSignal = signal;
    for (const ns of this.scopes) this.startLoop(ns, signal);
    if (signal.aborted) return;
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await Promise.all([...this.loops.values()].map((l) => l.done));
  }

  private startLoop(ns: string, parent: AbortSignal): void {
    const abort = new AbortController();
    const signal = AbortSignal.any([parent, abort.signal]);
    const done = (async () => {
      try {
        await this.loop(ns, signal);
      } catch (error) {
        this.log.error("list/watch loop ended", { namespace: ns, error });
      } finally {
        if (!signal.aborted) this.deadLoops.add(ns || "(all namespaces)");
      }
    })();
    this.loops.set(ns, { abort, done });
  }

  /** Undefined while every list/watch loop runs; otherwise which ended (for `/healthz`). */
  notLiveReason(): string | undefined {
    if (this.deadLoops.size === 0) return undefined;
    return `${this.label} watch loop not running (${[...this.deadLoops].join(", ")})`;
  }

  private async loop(namespace: string, signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    let failures = 0;
    let lastWasOutage = false;
    const where = namespace ? { namespace } : {};
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.relist(namespace, signal);
          failures = 0;
        }
        const state = { resourceVersion, events: 0 };
        const started = Date.now();
        try {
          await this.watch(namespace, state, signal);
        } finally {
          resourceVersion = state.resourceVersion;
        }
        if (signal.aborted) return;
        // A stream that ends at once with nothing in it (a proxy cutting it) must not spin: back off.
        if (state.events === 0 && Date.now() - started < 1000) {
          throw new Error("watch closed right after it opened");
        }
        failures = 0;
        this.metrics.restarts.inc({ resource: this.label, reason: "closed" });
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof WatchStalled) {
          this.metrics.restarts.inc({ resource: this.label, reason: "stall" });
          this.log.warn("watch stalled: no event or bookmark in time; restarting it", {
            ...where,
            stallTimeoutMs: this.stallTimeoutMs,
            resourceVersion,
          });
          continue;
        }
        if (error instanceof WatchAfterOutage) {
          this.metrics.restarts.inc({ resource: this.label, reason: "recovered" });
          this.log.info("API server answers again; restarting a watch that saw nothing since", where);
          failures = 0;
          continue;
        }
        if (isGone(error)) {
          this.metrics.restarts.inc({ resource: this.label, reason: "expired" });
          this.log.info("watch resourceVersion expired (410); relisting", {
            ...where,
            resourceVersion,
            error,
          });
          resourceVersion = undefined;
          continue;
        }
        // The first answer after an outage (a 403 while RBAC loads, a 429) starts a new count, not the outage's.
        const outage = isUnavailable(error);
        if (!outage && lastWasOutage) failures = 0;
        lastWasOutage = outage;
        failures++;
        this.metrics.restarts.inc({ resource: this.label, reason: "error" });
        const delayMs = backoffDelay(
          failures,
          this.opts.backoff ?? { baseMs: 500, maxMs: 30_000 },
          this.random,
        );
        this.log.warn(resourceVersion === undefined ? "list failed; retrying" : "watch failed; restarting", {
          ...where,
          failures,
          retryInMs: delayMs,
          error,
        });
        await this.backoff(delayMs, signal);
        // The server answered meanwhile: resume at once, as after a first failure.
        if (this.opts.client.reachability.downSince === undefined) failures = 0;
      }
    }
  }

  /** Sleeps `ms`, cut short when the API server answers again after an outage (probed by the client). */
  private async backoff(ms: number, signal: AbortSignal): Promise<void> {
    const reach = this.opts.client.reachability;
    if (reach.downSince === undefined) return await sleep(ms, signal).catch(() => {});
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    await Promise.race([sleep(ms, both).catch(() => {}), reach.whenAnswering(both)]);
    stop.abort();
  }

  private get stallTimeoutMs(): number {
    return this.opts.stallTimeoutMs ?? 150_000;
  }

  /** Lists every page, replaces the namespace's part of the cache, delivers the difference; returns the list RV. */
  private async relist(namespace: string, signal: AbortSignal): Promise<string> {
    this.metrics.relists.inc({ resource: this.label });
    const listed: T[] = [];
    let resourceVersion = "";
    let cont: string | undefined;
    let limit: number | undefined = this.opts.pageSize ?? 500;
    do {
      let page;
      try {
        page = await this.opts.client.list<T>(this.opts.resource, {
          namespace,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          limit,
          continue: cont,
        }, { signal, timeoutMs: this.opts.listTimeoutMs?.() });
      } catch (e) {
        // The continue token expired mid-list: start over in one unpaginated list.
        if (cont && isGone(e)) {
          listed.length = 0;
          cont = undefined;
          limit = undefined;
          continue;
        }
        throw e;
      }
      // A scope removed while its list was in flight leaves nothing behind.
      if (signal.aborted) throw signal.reason;
      for (const item of page.items ?? []) listed.push(this.trim(item));
      cont = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? "";
    } while (cont);

    const cached = namespace ? this.store.list(namespace) : this.store.list();
    const diff = relistDiff(cached, listed);
    for (const old of diff.deletes) {
      this.store.remove(objectKey(old));
      this.emit("delete", old);
    }
    for (const obj of diff.adds) {
      this.store.upsert(obj);
      this.emit("add", obj);
    }
    for (const { old, obj } of diff.updates) {
      this.store.upsert(obj);
      this.emit("update", obj, old);
    }
    this.metrics.objects.set({ resource: this.label }, this.store.size);
    this.markSynced(namespace);
    return resourceVersion;
  }

  private async watch(
    namespace: string,
    state: { resourceVersion: string; events: number },
    signal: AbortSignal,
  ): Promise<void> {
    const watchAbort = new AbortController();
    const onAbort = () => watchAbort.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    let stalled = false;
    let stallTimer: ReturnType<typeof setTimeout> | undefined;
    const armStallTimer = () => {
      clearTimeout(stallTimer);
      stallTimer = safeTimeout(() => {
        stalled = true;
        watchAbort.abort(new WatchStalled("watch stalled"));
      }, this.stallTimeoutMs);
    };
    const base = this.opts.watchTimeoutSeconds ?? 300;
    const open = { abort: watchAbort, lastEventAt: Date.now() };
    this.openWatches.add(open);
    let afterOutage = false;
    watchAbort.signal.addEventListener("abort", () => {
      afterOutage = watchAbort.signal.reason instanceof WatchAfterOutage;
    }, { once: true });
    try {
      armStallTimer();
      const events = this.opts.client.watch<T>(resourcePath(this.opts.resource, namespace), {
        resourceVersion: state.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(base * (1 + this.random())),
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      }, watchAbort.signal);
      for await (const event of events) {
        if (watchAbort.signal.aborted) break;
        armStallTimer();
        open.lastEventAt = Date.now();
        state.events++;
        const rv = event.object?.metadata?.resourceVersion;
        if (event.type === "ADDED" || event.type === "MODIFIED") {
          const obj = this.trim(event.object);
          const old = this.store.upsert(obj);
          if (old) this.emit("update", obj, old);
          else this.emit("add", obj);
        } else if (event.type === "DELETED") {
          const gone = this.store.remove(objectKey(event.object)) ?? this.trim(event.object);
          this.emit("delete", gone);
        }
        if (rv) state.resourceVersion = rv;
        this.metrics.objects.set({ resource: this.label }, this.store.size);
      }
      if (stalled) throw new WatchStalled("watch stalled");
      if (afterOutage) throw new WatchAfterOutage("restart after outage");
    } finally {
      this.openWatches.delete(open);
      clearTimeout(stallTimer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  private trim(obj: T): T {
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  private emit(kind: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const h of this.handlers) {
      if (kind === "add" && h.add) this.call(kind, () => h.add!(obj));
      else if (kind === "update" && h.update) this.call(kind, () => h.update!(old!, obj));
      else if (kind === "delete" && h.delete) this.call(kind, () => h.delete!(obj));
    }
  }

  /** A throwing handler is logged, never allowed to stop the watch or the other handlers. */
  private call(kind: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error("informer handler threw", { handler: kind, error });
    }
  }

  private markSynced(namespace: string): void {
    if (this.synced.has(namespace) || !this.scopes.has(namespace)) return;
    this.synced.add(namespace);
    for (const l of this.scopeSyncedListeners) this.call("scopeSynced", () => l(namespace));
    if (this.hasSynced()) { for (const w of this.syncWaiters.splice(0)) w(); }
  }
}

/** A transform that drops what zen-lead never reads and costs the most memory. */
export function dropManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as T["metadata"] & { managedFields?: unknown };
  if (meta.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}
