/** The one Retry-After parser, for the API server's answers and ARM's. */

/**
 * A Retry-After header as milliseconds to wait: delta-seconds (fractions accepted) or, when `now` is given, an
 * HTTP date (the time left until it, 0 when past). Undefined when absent or malformed, so the caller's own
 * backoff applies. The API server sends only seconds; ARM sends either.
 */
export function parseRetryAfter(value: string | null | undefined, now?: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (now === undefined) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
