/** Short, stable reasons for socket errors, so events and logs read "connection refused" not a stack. */

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connect timed out",
  EPIPE: "connection closed",
};

export function netErrorReason(error: unknown, target: string): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && REASONS[code]) return `${REASONS[code]} (${target})`;
  const message = error instanceof Error ? error.message : String(error);
  return `${message} (${target})`;
}
