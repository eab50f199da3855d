/**
 * Retries of network failures, where sending again cannot duplicate a write: a refused connection (nothing was
 * sent) for any method, and a reset or a timeout only for reads. A write that timed out or was cut off may have
 * been applied; it goes back to the engine, which treats the gateway's state as uncertain and re-reads it.
 * (core-rest-pipeline's exponentialRetryPolicy retries 5xx answers but never network errors.)
 */
import { isRestError, type PipelinePolicy } from "@azure/core-rest-pipeline";
import { backoffDelay, type Clock, sleep } from "../../../mod.ts";
import { NETWORK_CODES } from "./fetch_client.ts";

export interface NetworkRetryOptions {
  maxRetries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

/** Whether a failed send may be sent again: pure, so the rule is tested without a network. */
export function mayResend(method: string, code: string | undefined): boolean {
  if (code === NETWORK_CODES.refused) return true;
  const read = method.toUpperCase() === "GET" || method.toUpperCase() === "HEAD";
  return read && (code === NETWORK_CODES.reset || code === NETWORK_CODES.timeout);
}

export function networkRetryPolicy(clock: Clock, opts: NetworkRetryOptions): PipelinePolicy {
  return {
    name: "zenLeadNetworkRetry",
    async sendRequest(request, next) {
      for (let attempt = 0;; attempt++) {
        try {
          return await next(request);
        } catch (err) {
          const signal = request.abortSignal as AbortSignal | undefined;
          if (signal?.aborted || attempt >= opts.maxRetries || !isRestError(err)) throw err;
          if (!mayResend(request.method, err.code)) throw err;
          const policy = { baseMs: opts.retryDelayMs, maxMs: opts.maxRetryDelayMs, jitter: 0 };
          await sleep(backoffDelay(attempt + 1, policy), signal, clock);
        }
      }
    },
  };
}
