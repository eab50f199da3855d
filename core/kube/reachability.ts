/**
 * Whether the API server answers, as one client sees it: failing from the first refused, timed-out or 5xx
 * attempt until the next answer below 500. Loops in backoff wait on `whenAnswering` so they resume as soon as the
 * server is back (not when a long backoff ends), and watches opened before an outage are restarted after it
 * (their connections may be dead without anyone noticing).
 */
import type { MetricsRegistry } from "../metrics/registry.ts";
import { sleep } from "../time/sleep.ts";

export class Reachability {
  private failingSince: number | undefined;
  private readonly recovered = new Set<(downSince: number) => void>();
  private waiters: (() => void)[] = [];
  private probing = false;
  private readonly gauge;

  /**
   * `probe` asks the server something cheap (GET /readyz) and resolves to its status, 0 when unreachable.
   * Without `metrics` nothing is exported (a second client of the same process must not flip the gauge).
   */
  constructor(
    private readonly probe: () => Promise<number>,
    metrics: MetricsRegistry | undefined,
    private intervalMs = 500,
  ) {
    this.gauge = metrics?.gauge({
      name: "zen_lead_api_server_unreachable",
      help: "1 while the API server does not answer this replica (routing stays as last written).",
    });
    this.gauge?.set(undefined, 0);
  }

  /** Since when the server has not answered; undefined while it does. */
  get downSince(): number | undefined {
    return this.failingSince;
  }

  /** An attempt got no answer, a timeout or a 5xx. */
  failed(now = Date.now()): void {
    if (this.failingSince !== undefined) return;
    this.failingSince = now;
    this.gauge?.set(undefined, 1);
  }

  /** An attempt got an answer below 500: the server is back. */
  answered(): void {
    const since = this.failingSince;
    if (since === undefined) return;
    this.failingSince = undefined;
    this.gauge?.set(undefined, 0);
    for (const w of this.waiters.splice(0)) w();
    for (const fn of this.recovered) {
      try {
        fn(since);
      } catch { /* a listener's problem is its own */ }
    }
  }

  /** Calls `fn(downSince)` each time the server answers again after failing; returns an unsubscribe. */
  onRecovered(fn: (downSince: number) => void): () => void {
    this.recovered.add(fn);
    return () => this.recovered.delete(fn);
  }

  /** Resolves at once while answering, else when it answers again (probing meanwhile) or `signal` aborts. */
  whenAnswering(signal?: AbortSignal): Promise<void> {
    if (this.failingSince === undefined || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      signal?.addEventListener("abort", done, { once: true });
      this.waiters.push(done);
      void this.probeLoop();
    });
  }

  private async probeLoop(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      while (this.failingSince !== undefined && this.waiters.length > 0) {
        const status = await this.probe().catch(() => 0);
        if (status > 0 && status < 500) this.answered();
        else await sleep(this.intervalMs);
      }
    } finally {
      this.probing = false;
    }
  }
}
