/**
 * Time as zen-lead sees it: the one clock interface of the work queue, the rate limiter, the informer, the probe
 * scheduler and the Azure engine. Injected so tests move time by hand (`tests/_clock.ts`).
 */
import { safeTimeout } from "../timers.ts";

/** A timer handle: Deno's number, or Node's Timeout object when Node typings are in scope. */
export type TimerHandle = ReturnType<typeof setTimeout> | number;

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer that has not fired yet. */
  clearTimeout(handle: TimerHandle): void;
}

/** Wall-clock time and the runtime's timers (delays clamped, see `timers.ts`). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => safeTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};
