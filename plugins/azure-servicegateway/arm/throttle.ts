/**
 * The throttling gate: after ARM answers 429, every request of the same class (reads or writes, which ARM
 * throttles separately) waits until the Retry-After moment instead of hammering the subscription's quota.
 */
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { type Clock, parseRetryAfter, sleep } from "../../../mod.ts";

export type RequestClass = "read" | "write";

export function requestClassOf(method: string): RequestClass {
  return method.toUpperCase() === "GET" || method.toUpperCase() === "HEAD" ? "read" : "write";
}

export interface ThrottleObserver {
  throttled(cls: RequestClass): void;
  waited(cls: RequestClass, ms: number): void;
}

export class ThrottleGate {
  private readonly openAt: Record<RequestClass, number> = { read: 0, write: 0 };
  constructor(private readonly clock: Clock, private readonly maxWaitMs: number) {}

  /** Closes the gate of one class for `ms`, capped so a wild Retry-After cannot stall the engine for hours. */
  close(cls: RequestClass, ms: number): void {
    this.openAt[cls] = Math.max(this.openAt[cls], this.clock.now() + Math.min(ms, this.maxWaitMs));
  }

  /** Milliseconds a request of the class must still wait. */
  remaining(cls: RequestClass): number {
    return Math.max(0, this.openAt[cls] - this.clock.now());
  }

  /** Waits until the gate of the class is open; rejects when `signal` aborts first. Returns the time waited. */
  async wait(cls: RequestClass, signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (let ms = this.remaining(cls); ms > 0; ms = this.remaining(cls)) {
      await sleep(ms, signal, this.clock);
      waited += ms;
    }
    return waited;
  }
}

/**
 * A pipeline policy: waits at the gate, and on 429 closes the gate for Retry-After and tries again, at most
 * `maxAttempts` times; the last 429 goes back to the caller, whose backoff takes over.
 */
export function throttlingGatePolicy(
  gate: ThrottleGate,
  clock: Clock,
  opts: { maxAttempts: number; defaultWaitMs: number; observer?: ThrottleObserver },
): PipelinePolicy {
  return {
    name: "zenLeadThrottlingGate",
    async sendRequest(request, next) {
      const cls = requestClassOf(request.method);
      for (let attempt = 1;; attempt++) {
        const waited = await gate.wait(cls, request.abortSignal as AbortSignal | undefined);
        if (waited > 0) opts.observer?.waited(cls, waited);
        const response = await next(request);
        if (response.status !== 429) return response;
        opts.observer?.throttled(cls);
        const ms = parseRetryAfter(response.headers.get("retry-after"), clock.now()) ?? opts.defaultWaitMs;
        gate.close(cls, ms);
        if (attempt >= opts.maxAttempts) return response;
      }
    },
  };
}
