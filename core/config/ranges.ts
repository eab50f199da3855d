/**
 * The valid range of every number a user can set, in one table: flags, the ConfigMap and annotations check the
 * same bounds and word refusals the same way (`<field>: expected <range>, received <value>`). The bounds keep
 * any input from making the controller spin (tiny intervals), stall (huge timeouts) or overflow timers.
 */
import * as v from "valibot";

export interface Range {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
  /** `min` itself is not allowed (a rate of 0 would never send a request). */
  readonly minExclusive?: boolean;
  /** Shown after the numbers, e.g. "seconds". */
  readonly unit?: string;
}

const HOUR_MS = 3_600_000;

export const RANGES = {
  maxConcurrentReconciles: { min: 1, max: 1000, integer: true },
  maxCacheSizePerNamespace: { min: 1, max: 1_000_000, integer: true },
  maxPodWatchNamespaces: { min: 0, max: 10_000, integer: true },
  qps: { min: 0, max: 10_000, minExclusive: true },
  burst: { min: 1, max: 100_000, integer: true },
  cacheUpdateTimeoutSeconds: { min: 0.1, max: 600, unit: "seconds" },
  apiTimeoutSeconds: { min: 0.1, max: 600, unit: "seconds" },
  /** `zen-lead.io/min-ready-duration`, in milliseconds. */
  minReadyMs: { min: 0, max: 24 * HOUR_MS },
  leaderCount: { min: 1, max: 64, integer: true },
  priority: { min: -1000, max: 1000, integer: true },
  intervalSeconds: { min: 0.1, max: 3600, unit: "seconds" },
  timeoutSeconds: { min: 0.01, max: 600, unit: "seconds" },
  candidateIntervalSeconds: { min: 0.1, max: 3600, unit: "seconds" },
  failureThreshold: { min: 1, max: 100, integer: true },
  successThreshold: { min: 1, max: 100, integer: true },
} as const satisfies Record<string, Range>;

/** "an integer from 1 to 1000", "a number > 0 and <= 10000", "a number from 0.1 to 600 seconds". */
export function rangeText(r: Range): string {
  const what = r.integer ? "an integer" : "a number";
  const unit = r.unit ? ` ${r.unit}` : "";
  return r.minExclusive
    ? `${what} > ${r.min} and <= ${r.max}${unit}`
    : `${what} from ${r.min} to ${r.max}${unit}`;
}

/** Whether `n` is a finite number inside `r`. */
export function inRange(n: number, r: Range): boolean {
  if (!Number.isFinite(n)) return false;
  if (r.integer && !Number.isInteger(n)) return false;
  if (r.minExclusive ? n <= r.min : n < r.min) return false;
  return n <= r.max;
}

/** A value as a refusal shows it: short, quoted when text, cut at `max` characters. */
export function shownValue(value: unknown, max = 200): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > max ? `${text.slice(0, max)}…(${text.length - max} more characters)` : text;
}

/** `<field>: expected <range>, received <value>`, or undefined when `value` is in range. */
export function rangeProblem(field: string, value: number, r: Range): string | undefined {
  return inRange(value, r) ? undefined : `${field}: expected ${rangeText(r)}, received ${shownValue(value)}`;
}

/** A valibot schema of a number in `r`; its issue message is the range text. */
export function rangeSchema(r: Range) {
  // one check for type and bounds, so "fast", NaN and 1e12 all get the same "expected <range>" message.
  return v.custom<number>((n) => typeof n === "number" && inRange(n, r), rangeText(r));
}
