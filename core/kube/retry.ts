/** When a failed API call is retried, and after how long: a pure decision over the error and the attempt. */
import { backoffDelay, type BackoffPolicy, type Random } from "../time/backoff.ts";
import { KubeApiError } from "./errors.ts";

export interface RetryContext {
  /** Whether repeating the request cannot apply it twice (GET/PUT/DELETE/patches; not POST). */
  idempotent: boolean;
  /** Retries already made for this call. */
  retries: number;
  maxRetries: number;
  backoff: BackoffPolicy;
  /** Cap on a server-requested Retry-After, so a bad header cannot park a reconcile for hours. */
  maxRetryAfterMs: number;
  random?: Random;
}

const retryableStatus = new Set([500, 502, 503, 504]);

/** Milliseconds to wait before retrying, or undefined when the error is final. */
export function retryDelay(error: unknown, ctx: RetryContext): number | undefined {
  if (ctx.retries >= ctx.maxRetries || !(error instanceof KubeApiError)) return undefined;
  const backoff = backoffDelay(ctx.retries + 1, ctx.backoff, ctx.random);
  const serverAsked = error.retryAfterSeconds !== undefined
    ? Math.min(ctx.maxRetryAfterMs, error.retryAfterSeconds * 1000)
    : undefined;
  // 429 means the server did not process the request, so even a POST can be repeated.
  if (error.status === 429) return serverAsked ?? backoff;
  if (!ctx.idempotent) return undefined;
  if (error.status === 0 || retryableStatus.has(error.status)) return serverAsked ?? backoff;
  return undefined;
}
