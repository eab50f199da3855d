/**
 * The write path's view of cache staleness: a Service's decision may be written only while none of the caches
 * it reads is stale for its namespace. A key held meanwhile is handed back (`release`) as soon as every cache
 * it reads is fresh again, so a failover waiting for a relist runs the moment that relist is applied.
 */
import type { Logger } from "../log.ts";
import type { Staleness } from "./staleness.ts";

export class CacheGate {
  private readonly held = new Set<string>();

  constructor(
    private readonly caches: readonly Staleness[],
    private readonly release: (key: string) => void,
    private readonly log?: Logger,
  ) {
    for (const c of caches) c.onFresh(() => this.releaseFresh());
  }

  /** True unless a cache read for `key` (`namespace/name`) is stale; without a key, unless any cache is. */
  fresh(key?: string): boolean {
    const ns = key === undefined ? undefined : key.slice(0, key.indexOf("/"));
    return this.caches.every((c) => c.fresh(ns));
  }

  /** Keeps `key` until its caches are fresh (no write, no retry timer meanwhile). */
  hold(key: string): void {
    if (this.held.size === 0) this.log?.warn("a cache is stale; holding writes until it relisted", { key });
    this.held.add(key);
  }

  get heldKeys(): number {
    return this.held.size;
  }

  private releaseFresh(): void {
    const before = this.held.size;
    for (const key of [...this.held]) {
      if (!this.fresh(key)) continue;
      this.held.delete(key);
      this.release(key);
    }
    if (before > 0 && this.held.size === 0) {
      this.log?.info("caches fresh again; held writes released", { before });
    }
  }
}
