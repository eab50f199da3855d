/** Recent leader changes per Service, bounded, for the status endpoint and page; listeners see each as it lands. */
import type { LeaderChange } from "./model.ts";

/** Changes kept per Service: enough for a latency chart. */
export const CHANGES_PER_SERVICE = 30;
/** Changes kept in all: past this the Services changed longest ago go first (a few MB at most). */
export const MAX_CHANGES = 20_000;
/** Older changes go, except each Service's newest, so a long churn plateaus instead of filling the bound. */
export const MAX_AGE_MS = 15 * 60_000;
/** How often changes are checked for age. */
const AGE_SWEEP_MS = 60_000;

export class LeaderHistory {
  private readonly byService = new Map<string, LeaderChange[]>();
  private readonly listeners = new Set<(change: LeaderChange) => void>();
  private total = 0;
  private sweptAt = -Infinity;

  constructor(private readonly maxChanges = MAX_CHANGES, private readonly maxAgeMs = MAX_AGE_MS) {}

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
    this.dropAged(Date.parse(change.at));
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch { /* a listener's failure is its own */ }
    }
  }

  /** Each Service's changes older than the age bound, but never its newest (a sweep a minute at most). */
  private dropAged(now: number): void {
    if (!Number.isFinite(now) || now - this.sweptAt < AGE_SWEEP_MS) return;
    this.sweptAt = now;
    const cutoff = now - this.maxAgeMs;
    for (const list of this.byService.values()) {
      let aged = 0;
      while (aged < list.length - 1 && Date.parse(list[aged].at) < cutoff) aged++;
      if (aged) {
        list.splice(0, aged);
        this.total -= aged;
      }
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
