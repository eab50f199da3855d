/**
 * The one rate limiter: a token bucket whose rate can be changed at run time when the configuration reloads. The
 * API client's global limit toward the API server (`--qps`, `--burst`) and the Events client's own use it.
 */
import { type Clock, realClock } from "./clock.ts";
import { sleep } from "./sleep.ts";

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  /** `qps <= 0` means unlimited. */
  constructor(private qps: number, private burst: number, private readonly clock: Clock = realClock) {
    validateRate(qps, burst);
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  get rate(): { qps: number; burst: number } {
    return { qps: this.qps, burst: this.burst };
  }

  /** Changes the rate; tokens earned so far at the old rate are kept, capped at the new burst. */
  setRate(qps: number, burst: number): void {
    validateRate(qps, burst);
    this.refill();
    this.qps = qps;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** Takes a token if one is available now. */
  tryTake(): boolean {
    if (this.qps <= 0) return true;
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Waits for a token. The token is reserved at once (the balance may go negative) so waiters are served in
   * arrival order; an aborted wait returns its token. Resolves to the milliseconds waited.
   */
  async take(signal?: AbortSignal): Promise<number> {
    if (this.qps <= 0) return 0;
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    const waitMs = Math.ceil((-this.tokens / this.qps) * 1000);
    try {
      await sleep(waitMs, signal, this.clock);
    } catch (e) {
      this.tokens += 1;
      throw e;
    }
    return waitMs;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    if (this.qps > 0) this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.qps);
  }
}

function validateRate(qps: number, burst: number): void {
  if (!Number.isFinite(qps)) {
    throw new RangeError(`rate limit qps: expected a finite number, received ${qps}`);
  }
  if (qps > 0 && !(Number.isInteger(burst) && burst >= 1)) {
    throw new RangeError(`rate limit burst: expected an integer >= 1 when qps > 0, received ${burst}`);
  }
}
