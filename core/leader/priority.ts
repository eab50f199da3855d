/** Parses a pod's `zen-lead.io/priority`: higher-priority pods lead first, before sticky and strategy order. */

import { shownValue } from "../config/ranges.ts";

export const PRIORITY_KEY = "zen-lead.io/priority";
export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;
/** The priority of a pod that sets none. */
export const DEFAULT_PRIORITY = 0;

export type PriorityResult = { value: number } | { error: string };

/**
 * The pod's priority from its annotation or, when that is absent, its label (an annotation can be changed
 * without touching the selector, so it wins); `{ value: 0 }` when neither is set.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parsePriority } from "./priority.ts";
 * deepStrictEqual(parsePriority({}, { "zen-lead.io/priority": "10" }), { value: 10 });
 * deepStrictEqual(parsePriority({ "zen-lead.io/priority": "high" }, {}), {
 *   error: 'pod label "zen-lead.io/priority": expected an integer from -1000 to 1000, received "high"',
 * });
 * ```
 */
export function parsePriority(
  labels: Readonly<Record<string, string>> | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
): PriorityResult {
  const fromAnnotation = annotations?.[PRIORITY_KEY];
  const raw = fromAnnotation ?? labels?.[PRIORITY_KEY];
  if (raw === undefined) return { value: DEFAULT_PRIORITY };
  const where = fromAnnotation !== undefined ? "annotation" : "label";
  const text = raw.trim();
  const value = /^[+-]?\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < PRIORITY_MIN || value > PRIORITY_MAX) {
    return {
      error: `pod ${where} "${PRIORITY_KEY}": expected an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}, ` +
        `received ${shownValue(raw)}`,
    };
  }
  // `-0` would print oddly in events and compare equal anyway.
  return { value: value === 0 ? 0 : value };
}
