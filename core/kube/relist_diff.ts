/** What changed between the cache and a fresh list: the events a relist must deliver so no deletion is missed. */
import { objectKey } from "./types.ts";
import type { KubeObject } from "./types.ts";

export interface RelistDiff<T> {
  adds: T[];
  updates: { old: T; obj: T }[];
  deletes: T[];
}

/**
 * `cached` are the stored objects in the relisted scope; `listed` the fresh list. An object whose
 * resourceVersion is unchanged is not an update.
 */
export function relistDiff<T extends KubeObject>(cached: readonly T[], listed: readonly T[]): RelistDiff<T> {
  const before = new Map(cached.map((o) => [objectKey(o), o]));
  const diff: RelistDiff<T> = { adds: [], updates: [], deletes: [] };
  const seen = new Set<string>();
  for (const obj of listed) {
    const key = objectKey(obj);
    seen.add(key);
    const old = before.get(key);
    if (!old) diff.adds.push(obj);
    else if (
      old.metadata.resourceVersion !== obj.metadata.resourceVersion || old.metadata.uid !== obj.metadata.uid
    ) {
      diff.updates.push({ old, obj });
    }
  }
  for (const [key, old] of before) if (!seen.has(key)) diff.deletes.push(old);
  return diff;
}
