/**
 * When the change behind a pending reconcile was observed, per Service. Failover latency and the slice's
 * last-change-trigger-time start at the earliest change not yet written, not at the reconcile.
 */

export interface Trigger {
  at: number;
  cause: string;
}

export class TriggerTracker {
  private readonly pending = new Map<string, Trigger>();

  /** Notes a change observed at `at`; the earliest unwritten one wins. */
  note(key: string, at: number, cause: string): void {
    const cur = this.pending.get(key);
    if (!cur || at < cur.at) this.pending.set(key, { at, cause });
  }

  peek(key: string): Trigger | undefined {
    return this.pending.get(key);
  }

  /** Clears the trigger a reconcile consumed; a newer one noted meanwhile stays for the next reconcile. */
  clear(key: string, consumed?: Trigger): void {
    const cur = this.pending.get(key);
    if (!cur) return;
    if (!consumed || cur === consumed) this.pending.delete(key);
  }

  get size(): number {
    return this.pending.size;
  }
}
