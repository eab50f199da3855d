/** Turns an aborted check's signal into a failure reason ("timeout after 1000ms" from the scheduler). */

export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error || r instanceof DOMException) {
    // AbortSignal.timeout() says "Signal timed out."; say what it means for a probe.
    if (r.name === "TimeoutError" && !/^timeout/i.test(r.message)) return `timeout (${r.message})`;
    return r.message || r.name;
  }
  return r === undefined ? "aborted" : String(r);
}
