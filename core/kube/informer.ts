/**
 * An informer: lists a resource (paginated), then watches from the listed resourceVersion with bookmarks, keeps
 * a cache and calls handlers in order. A watch the server ends cleanly is reopened from where it was; one that
 * fails, stalls (silent past `stallTimeoutMs`, see watch_timing.ts) or gets 410 marks its scope stale and
 * relists, delivering the difference as add/update/delete, with backoff on errors (staleness.ts).
 * Several namespaces run one list/watch loop each (namespace-scoped installs have Roles, not ClusterRoles); with
 * `dynamicScopes` the namespaces change at run time (setScopes), each new one listed before it counts as synced.
 */
import type { Logger } from "../log.ts";
import { backoffDelay, type Random } from "../time/backoff.ts";
import { sleep } from "../time/sleep.ts";
import { isGone, isUnavailable } from "./errors.ts";
import { resourcePath } from "./paths.ts";
import { relistDiff } from "./relist_diff.ts";
import { listPages } from "./list_pages.ts";
import { type IndexFunc, ObjectStore } from "./store.ts";
import { type KubeObject, objectKey, type WatchEvent } from "./types.ts";
import { type OpenWatch, WatchAfterOutage, watchOnce, WatchStalled } from "./informer_watch.ts";
import { Staleness } from "./staleness.ts";
import { type InformerHandlers, informerMetrics, type InformerOptions } from "./informer_options.ts";

export { dropManagedFields } from "./informer_options.ts";
export type { InformerHandlers, InformerOptions, WatchRestartReason } from "./informer_options.ts";

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
  private readonly openWatches = new Set<OpenWatch>();
  /** Scopes whose cache is known to be stale (the write path holds decisions that read them). */
  readonly staleness: Staleness;
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
    this.staleness = new Staleness(res.plural, opts.metrics);
    this.metrics = informerMetrics(opts.metrics);
    // Watches reopen every few seconds now: the series exists from the start, not from the first reopen.
    this.metrics.restarts.inc({ resource: this.label, reason: "closed" }, 0);
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
      this.staleness.clear(ns);
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
    signal.addEventListener("abort", () => this.staleness.stop(), { once: true });
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
    // The last watch ended by the server's clean close: the next one resumes at once, without a rate-limit token.
    let reopen = false;
    const where = namespace ? { namespace } : {};
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.relist(namespace, signal);
          this.staleness.clear(namespace); // caught up: the cache is the server's state at the list's RV
          failures = 0;
        }
        const state = { resourceVersion, events: 0 };
        const started = Date.now();
        try {
          await watchOnce<T>(this.watchOptions(namespace, !reopen), state, signal);
        } finally {
          resourceVersion = state.resourceVersion;
        }
        if (signal.aborted) return;
        // A stream that ends at once with nothing in it (a proxy cutting it) must not spin: back off.
        if (state.events === 0 && Date.now() - started < 1000) {
          throw new Error("watch closed right after it opened");
        }
        failures = 0;
        reopen = true;
        this.metrics.restarts.inc({ resource: this.label, reason: "closed" });
      } catch (error) {
        if (signal.aborted) return;
        reopen = false;
        // Whatever ended the watch, changes may have been missed since: stale until a relist is applied.
        if (this.synced.has(namespace)) this.staleness.mark(namespace);
        const lastResourceVersion = resourceVersion;
        resourceVersion = undefined;
        if (error instanceof WatchStalled) {
          this.metrics.restarts.inc({ resource: this.label, reason: "stall" });
          this.log.warn("watch stalled: no event or bookmark in time; relisting", {
            ...where,
            stallTimeoutMs: this.stallTimeoutMs,
            resourceVersion: lastResourceVersion,
          });
          continue;
        }
        if (error instanceof WatchAfterOutage) {
          this.metrics.restarts.inc({ resource: this.label, reason: "recovered" });
          this.log.info("API server answers again; relisting where the watch saw nothing since", where);
          failures = 0;
          continue;
        }
        if (isGone(error)) {
          this.metrics.restarts.inc({ resource: this.label, reason: "expired" });
          this.log.info("watch resourceVersion expired (410); relisting", {
            ...where,
            resourceVersion: lastResourceVersion,
            error,
          });
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
        this.log.warn(
          lastResourceVersion === undefined ? "list failed; retrying" : "watch failed; relisting",
          {
            ...where,
            failures,
            retryInMs: delayMs,
            error,
          },
        );
        await this.backoff(delayMs, signal);
        // The server answered meanwhile: resume at once, as after a first failure.
        if (this.opts.client.reachability.downSince === undefined) failures = 0;
      }
    }
  }

  private watchOptions(namespace: string, rateLimited: boolean) {
    return {
      client: this.opts.client,
      path: resourcePath(this.opts.resource, namespace),
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      stallTimeoutMs: this.stallTimeoutMs,
      random: this.random,
      rateLimited,
      openWatches: this.openWatches,
      apply: (event: WatchEvent<T>) => this.apply(event),
    };
  }

  /** One watch event into the cache and the handlers. */
  private apply(event: WatchEvent<T>): void {
    if (event.type === "ADDED" || event.type === "MODIFIED") {
      const obj = this.trim(event.object);
      const old = this.store.upsert(obj);
      if (old) this.emit("update", obj, old);
      else this.emit("add", obj);
    } else if (event.type === "DELETED") {
      const gone = this.store.remove(objectKey(event.object)) ?? this.trim(event.object);
      this.emit("delete", gone);
    }
    this.metrics.objects.set({ resource: this.label }, this.store.size);
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
    return this.opts.stallTimeoutMs ?? 8_000;
  }

  /** Lists every page, replaces the namespace's part of the cache, delivers the difference; returns the list RV. */
  private async relist(namespace: string, signal: AbortSignal): Promise<string> {
    this.metrics.relists.inc({ resource: this.label });
    const { items: listed, resourceVersion } = await listPages<T>(
      this.opts.client,
      this.opts.resource,
      {
        namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        pageSize: this.opts.pageSize ?? 500,
        timeoutMs: this.opts.listTimeoutMs?.(),
      },
      (obj) => this.trim(obj),
      signal,
    );
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
