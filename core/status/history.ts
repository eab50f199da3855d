/** Recent leader changes per Service, bounded, for the status endpoint and page; listeners see each as it lands. */
import type { LeaderChange } from "./model.ts";

/** Changes kept per Service: enough for a latency chart, bounded whatever the churn. */
export const CHANGES_PER_SERVICE = 50;
/** Services kept: the oldest-touched one goes first past this. */
export const MAX_SERVICES = 5000;

export class LeaderHistory {
  private readonly byService = new Map<string, LeaderChange[]>();
  private readonly listeners = new Set<(change: LeaderChange) => void>();

  record(change: LeaderChange): void {
    const list = this.byService.get(change.service) ?? [];
    // Re-inserting keeps the Map in least-recently-changed order for the bound below.
    this.byService.delete(change.service);
    list.push(change);
    if (list.length > CHANGES_PER_SERVICE) list.splice(0, list.length - CHANGES_PER_SERVICE);
    this.byService.set(change.service, list);
    if (this.byService.size > MAX_SERVICES) this.byService.delete(this.byService.keys().next().value!);
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

  forget(service: string): void {
    this.byService.delete(service);
  }

  onRecord(listener: (change: LeaderChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
