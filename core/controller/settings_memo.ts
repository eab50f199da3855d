/**
 * Parsed Service settings, memoised per namespace with an LRU bounded by `--max-cache-size-per-namespace`.
 * Safe to bound: an evicted entry is parsed again from the informer's Service on its next reconcile, so an
 * eviction costs a parse, never a failover (an LRU that dropped Services from the failover path would cost one).
 */
import { LRUCache } from "lru-cache";
import type { SettingsResult } from "../leader/service_settings.ts";

interface Entry {
  /** The Service's resourceVersion and the configuration generation the result was parsed under. */
  version: string;
  result: SettingsResult;
}

export class SettingsMemo {
  private readonly byNamespace = new Map<string, LRUCache<string, Entry>>();

  constructor(private maxPerNamespace: number) {}

  /** A new bound applies to namespaces as they are next used; existing caches are rebuilt lazily. */
  setMax(max: number): void {
    if (max === this.maxPerNamespace) return;
    this.maxPerNamespace = max;
    this.byNamespace.clear();
  }

  get(namespace: string, name: string, version: string, parse: () => SettingsResult): SettingsResult {
    let cache = this.byNamespace.get(namespace);
    if (!cache) {
      cache = new LRUCache<string, Entry>({ max: this.maxPerNamespace });
      this.byNamespace.set(namespace, cache);
    }
    const hit = cache.get(name);
    if (hit && hit.version === version) return hit.result;
    const result = parse();
    cache.set(name, { version, result });
    return result;
  }

  forget(namespace: string, name: string): void {
    const cache = this.byNamespace.get(namespace);
    cache?.delete(name);
    if (cache?.size === 0) this.byNamespace.delete(namespace);
  }

  /** Entries held across namespaces (cache_size metric). */
  get size(): number {
    let n = 0;
    for (const c of this.byNamespace.values()) n += c.size;
    return n;
  }
}
