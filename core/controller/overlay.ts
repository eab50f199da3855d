/**
 * What zen-lead itself wrote, laid over the informer cache until the watch catches up. Without it a reconcile that
 * runs between our write and its watch event would see the old object, write again and hit a 409.
 */
import type { KubeObject } from "../kube/types.ts";

function rvNumber(rv: string | undefined): bigint | undefined {
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

export class WriteOverlay<T extends KubeObject> {
  private readonly written = new Map<string, { obj: T | null; rv?: string }>();

  /** Records our write (or deletion, `null`) of `key`. */
  remember(key: string, obj: T | null, rv = obj?.metadata.resourceVersion): void {
    this.written.set(key, { obj, rv });
  }

  /** The freshest view of `key`: our write when the cache has not seen it yet, else the cache's object. */
  view(key: string, cached: T | undefined): T | undefined {
    const w = this.written.get(key);
    if (!w) return cached;
    const ours = rvNumber(w.rv);
    const theirs = rvNumber(cached?.metadata.resourceVersion);
    if (w.obj === null) {
      // A deletion: the cache catches up when the object is gone or replaced by a newer one.
      if (!cached || (ours !== undefined && theirs !== undefined && theirs > ours)) {
        this.written.delete(key);
        return cached;
      }
      return undefined;
    }
    if (
      cached &&
      (cached.metadata.resourceVersion === w.rv ||
        (ours !== undefined && theirs !== undefined && theirs >= ours))
    ) {
      this.written.delete(key);
      return cached;
    }
    return w.obj;
  }

  /** True when the last thing zen-lead did to `key` was delete it. */
  deletedByUs(key: string): boolean {
    return this.written.get(key)?.obj === null;
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  get size(): number {
    return this.written.size;
  }
}
