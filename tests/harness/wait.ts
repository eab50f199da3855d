// Polling with a deadline, for conditions that the API offers no watch for.
import { sleep } from "../../core/time/sleep.ts";

/** Calls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const found = lastError === undefined ? "it was still not true" : `last error: ${errorText(lastError)}`;
      throw new Error(`expected ${what} within ${timeoutMs} ms, but ${found}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/** The controller's own sleep, for tests and the harness. */
export { sleep };

/** A short description of an error, including the HTTP status and body of client-node ApiExceptions. */
export function errorText(err: unknown): string {
  if (err && typeof err === "object" && "code" in err && "body" in err) {
    const body = typeof err.body === "string" ? err.body : JSON.stringify(err.body);
    return `HTTP ${err.code}: ${body.slice(0, 500)}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The HTTP status code of a client-node ApiException, if it is one. */
export function httpStatus(err: unknown): number | undefined {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "number") return err.code;
  return undefined;
}
