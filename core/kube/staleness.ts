/**
 * Which scopes of one informer hold a cache it knows is stale, since when, and the zen_lead_cache_stale* gauges.
 *
 * A scope is stale from the moment its watch ends other than by the server's clean close (an error, a stall, a
 * 410, a restart after an outage) until its cache has caught up. Caught up means precisely: a relist of that
 * scope, sent after the failure, has been applied, so the cache equals the server's state at that list's
 * resourceVersion. A resumed watch could not say so (the apiserver sends no marker after replaying what a
 * watch missed, and the next bookmark can be a minute away), which is why a stale scope always relists.
 * A scope not listed yet is "not synced", not stale: readiness and the controller's own checks cover it.
 */
import type { MetricsRegistry } from "../metrics/registry.ts";
import { safeInterval } from "../timers.ts";

export class Staleness {
  private readonly since = new Map<string, number>();
  private readonly freshListeners: (() => void)[] = [];
  private timer?: ReturnType<typeof setInterval>;
  private readonly gauges;

  constructor(private readonly resource: string, metrics: MetricsRegistry, private readonly now = Date.now) {
    this.gauges = {
      stale: metrics.gauge({
        name: "zen_lead_cache_stale",
        help:
          "1 while a scope of an informer's cache is known to be stale (its watch failed and it has not relisted " +
          "since); writes decided from it are held.",
        labelNames: ["resource"],
      }),
      seconds: metrics.gauge({
        name: "zen_lead_cache_stale_seconds",
        help: "Seconds since the oldest stale scope of an informer's cache became stale (0 while none is).",
        labelNames: ["resource"],
      }),
    };
    this.render();
  }

  /** `scope`'s watch failed: its cache may miss changes from now on. The first failure counts. */
  mark(scope: string): void {
    if (this.since.has(scope)) return;
    this.since.set(scope, this.now());
    this.render();
    this.timer ??= safeInterval(() => this.render(), 1000);
  }

  /** `scope` caught up (relisted) or is no longer watched. */
  clear(scope: string): void {
    if (!this.since.delete(scope)) return;
    this.render();
    if (this.since.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    for (const l of this.freshListeners) l();
  }

  /**
   * True unless a stale scope covers `namespace` (its own or the cluster-wide one `""`); without a namespace,
   * true unless any scope is stale.
   */
  fresh(namespace?: string): boolean {
    if (this.since.size === 0) return true;
    if (namespace === undefined) return false;
    return !this.since.has(namespace) && !this.since.has("");
  }

  /** Calls `listener` each time a scope stops being stale. */
  onFresh(listener: () => void): void {
    this.freshListeners.push(listener);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private render(): void {
    const oldest = Math.min(...this.since.values());
    this.gauges.stale.set({ resource: this.resource }, this.since.size > 0 ? 1 : 0);
    this.gauges.seconds.set(
      { resource: this.resource },
      this.since.size > 0 ? Math.max(0, (this.now() - oldest) / 1000) : 0,
    );
  }
}

/** A write refused because a cache its decision read is known to be stale; the key waits for the relist. */
export class StaleCacheError extends Error {
  constructor() {
    super("a cache this decision read is stale (its watch failed and it has not relisted); write held");
  }
}
