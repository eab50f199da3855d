/** Time as the engine sees it: injectable so tests drive backoffs and deadlines without real waits. */
import { safeTimeout } from "../../../mod.ts";

/** Opaque handle of a scheduled timer. */
export type TimerId = unknown;

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerId;
  clearTimer(id: TimerId): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => safeTimeout(fn, ms),
  clearTimer: (id) => clearTimeout(id as number),
};

/** A clock that moves only when `advance` is called; timers fire in due order. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  setTimer(fn: () => void, ms: number): TimerId {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return id;
  }
  clearTimer(id: TimerId): void {
    this.timers.delete(id as number);
  }
  /** Moves time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.current = Math.max(this.current, next[1].at);
      next[1].fn();
    }
    this.current = end;
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
}
