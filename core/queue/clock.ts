/** Time as the queue, rate limiter and informer see it; injected so unit tests control it. */
import { safeTimeout } from "../timers.ts";

// Node typings (pulled in by npm packages) make setTimeout return a Timeout object; the manual clock uses numbers.
export type TimerHandle = ReturnType<typeof setTimeout> | number;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => safeTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h),
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = realClock): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
