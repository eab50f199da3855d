/** The informer's cache: objects by `namespace/name`, with secondary indexes kept current on every change. */
import { objectKey } from "./types.ts";
import type { KubeObject } from "./types.ts";

export type IndexFunc<T> = (obj: T) => readonly string[];

interface Index<T> {
  fn: IndexFunc<T>;
  byValue: Map<string, Set<string>>;
  valuesByKey: Map<string, readonly string[]>;
}

export class ObjectStore<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  /** All objects, or those of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.items.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata.namespace ?? "") === namespace);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Adds an index over the objects already stored and every later change; a second add of a name throws. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) throw new Error(`store index "${name}": already defined`);
    const index: Index<T> = { fn, byValue: new Map(), valuesByKey: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.items) this.indexObject(index, key, obj);
  }

  /** Objects whose index function returned `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) {
      throw new Error(
        `store index "${name}": not defined; defined are [${[...this.indexes.keys()].join(", ")}]`,
      );
    }
    return [...(index.byValue.get(value) ?? [])].map((k) => this.items.get(k)!).filter(Boolean);
  }

  /** Stores `obj` and returns the object it replaced. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const index of this.indexes.values()) {
      this.unindex(index, key);
      this.indexObject(index, key, obj);
    }
    return old;
  }

  /** Removes the object under `key` and returns it. */
  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    for (const index of this.indexes.values()) this.unindex(index, key);
    return old;
  }

  private indexObject(index: Index<T>, key: string, obj: T): void {
    const values = [...new Set(index.fn(obj))];
    index.valuesByKey.set(key, values);
    for (const v of values) {
      let keys = index.byValue.get(v);
      if (!keys) index.byValue.set(v, keys = new Set());
      keys.add(key);
    }
  }

  private unindex(index: Index<T>, key: string): void {
    for (const v of index.valuesByKey.get(key) ?? []) {
      const keys = index.byValue.get(v);
      keys?.delete(key);
      if (keys?.size === 0) index.byValue.delete(v);
    }
    index.valuesByKey.delete(key);
  }
}
