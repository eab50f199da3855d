/** Recent leader changes per Service, bounded, for the status endpoint and page; listeners see each as it lands. */
import type { LeaderChange } from "./model.ts";

/** Changes kept per Service: enough for a latency chart. */
export const CHANGES_PER_SERVICE = 30;
/** Changes kept in all: past this the Services changed longest ago go first (a few MB at most). */
export const MAX_CHANGES = 20_000;

export class LeaderHistory {
  private readonly byService = new Map<string, LeaderChange[]>();
  private readonly listeners = new Set<(change: LeaderChange) => void>();
  private total = 0;

  constructor(private readonly maxChanges = MAX_CHANGES) {}

  record(change: LeaderChange): void {
    const list = this.byService.get(change.service) ?? [];
    // Re-inserting keeps the Map in least-recently-changed order for the bound below.
    this.byService.delete(change.service);
    list.push(change);
    this.total++;
    if (list.length > CHANGES_PER_SERVICE) {
      this.total -= list.length - CHANGES_PER_SERVICE;
      list.splice(0, list.length - CHANGES_PER_SERVICE);
    }
    this.byService.set(change.service, list);
    while (this.total > this.maxChanges && this.byService.size > 1) {
      const [oldest, changes] = this.byService.entries().next().value!;
      this.byService.delete(oldest);
      this.total -= changes.length;
    }
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch { /* a listener's failure is its own */ }
    }
  }

  /** Oldest first. */
  of(service: string): readonly LeaderChange[] {
    return this.byService.get(service) ?? [];
  }

  /** The Service left zen-lead (opted out, deleted): its changes go. */
  forget(service: string): void {
    this.total -= this.byService.get(service)?.length ?? 0;
    this.byService.delete(service);
  }

  get size(): number {
    return this.total;
  }

  onRecord(listener: (change: LeaderChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
