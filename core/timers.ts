/**
 * Every timer and abort signal of zen-lead goes through these helpers. Deno fires a `setTimeout` above
 * 2^31-1 ms at once (so a huge delay becomes a hot loop), `AbortSignal.timeout(3e9)` aborts after ~12 ms, and
 * `AbortSignal.timeout(Infinity)` throws: a delay is clamped into [0, 2^31-1] before it reaches the runtime.
 */

/** The longest delay a timer can hold (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** No requeue of a key comes sooner than this, so no input can make a reconcile loop spin faster. */
export const REQUEUE_FLOOR_MS = 100;

/** `ms` as a delay a timer keeps: NaN and negatives are 0, anything above MAX_TIMER_MS is MAX_TIMER_MS. */
export function clampDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}

/** `setTimeout` with the delay clamped. */
export function safeTimeout(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  return setTimeout(fn, clampDelay(ms));
}

/** `setInterval` with the period clamped (and at least 1 ms, so it never spins). */
export function safeInterval(fn: () => void, ms: number): ReturnType<typeof setInterval> {
  return setInterval(fn, Math.max(1, clampDelay(ms)));
}

/** `AbortSignal.timeout` with the delay clamped. */
export function timeoutSignal(ms: number): AbortSignal {
  return AbortSignal.timeout(clampDelay(ms));
}
