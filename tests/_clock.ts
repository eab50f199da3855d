/**
 * The one manual clock of the tests: time moves only when told, for deterministic tests of timers (queue delays,
 * backoff, rate limits, probe schedules, the Azure engine's retries and deadlines).
 */
import type { Clock, TimerHandle } from "../core/time/clock.ts";

interface PendingTimer {
  id: number;
  due: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: PendingTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ id, due: this.current + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in due order and letting promise callbacks run between them. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      if (!this.fireNext(target)) break;
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Moves time forward by `ms` at once, firing due timers in due order with no promise callback in between. */
  tick(ms: number): void {
    const target = this.current + ms;
    while (this.fireNext(target));
    this.current = target;
  }

  /** Fires the earliest timer due by `target` (ties in the order they were set); false when none is. */
  private fireNext(target: number): boolean {
    const next = this.timers.filter((t) => t.due <= target).sort((a, b) => a.due - b.due || a.id - b.id)[0];
    if (!next) return false;
    this.timers = this.timers.filter((t) => t.id !== next.id);
    this.current = next.due;
    next.fn();
    return true;
  }
}

/** Lets every pending promise continuation run: a real macrotask turn comes after all queued microtasks. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
