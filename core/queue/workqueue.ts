/**
 * The controller's work queue, after controller-runtime's: keys are deduplicated, one key never runs twice at
 * once (a key added while it runs runs once more afterwards), failures back off per key, and `addAfter` keeps the
 * earliest due time. Reconciles are level-triggered, so running a key once for many adds loses nothing.
 */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { backoffDelay, type Random } from "./backoff.ts";
import { type Clock, realClock, type TimerHandle } from "./clock.ts";
import { REQUEUE_FLOOR_MS } from "../timers.ts";

export interface WorkContext {
  /** Aborted when shutdown's grace period ends while the handler still runs. */
  signal: AbortSignal;
  /** Consecutive failures of this key before this run (0 on a first or post-success run). */
  failures: number;
}

export type WorkResult = void | { requeueAfterMs?: number };

export type WorkHandler = (key: string, ctx: WorkContext) => Promise<WorkResult>;

export interface WorkQueueOptions {
  /** The `name` label on the queue's metrics. */
  name?: string;
  workers: number;
  handler: WorkHandler;
  /** Delay after a key's first failure; doubles per consecutive failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  logger: Logger;
  metrics: MetricsRegistry;
  clock?: Clock;
  random?: Random;
}

export interface WorkQueueStats {
  /** Keys ready to run and not running. */
  depth: number;
  processing: number;
  /** Keys waiting for an `addAfter` or backoff delay. */
  waiting: number;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  /** Keys that must run (again): in `ready`, or added while running. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { due: number; timer: TimerHandle }>();
  private readonly failures = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private workers: number;
  private stopping = false;
  private readonly name: string;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly metrics;

  constructor(private readonly opts: WorkQueueOptions) {
    validateWorkers(opts.workers);
    this.workers = opts.workers;
    this.name = opts.name ?? "controller";
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    if (!(this.baseDelayMs > 0 && this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError(
        `work queue ${this.name}: expected 0 < baseDelayMs <= maxDelayMs, received baseDelayMs=${this.baseDelayMs} maxDelayMs=${this.maxDelayMs}`,
      );
    }
    const m = opts.metrics;
    const labelNames = ["name"];
    this.metrics = {
      depth: m.gauge({
        name: "zen_lead_workqueue_depth",
        help: "Keys waiting to be reconciled.",
        labelNames,
      }),
      adds: m.counter({
        name: "zen_lead_workqueue_adds_total",
        help: "Keys added to the work queue.",
        labelNames,
      }),
      retries: m.counter({
        name: "zen_lead_workqueue_retries_total",
        help: "Keys requeued with backoff after a failed reconcile.",
        labelNames,
      }),
      duration: m.histogram({
        name: "zen_lead_workqueue_work_duration_seconds",
        help: "Time a handler took for one key.",
        labelNames,
      }),
    };
    this.updateDepth();
  }

  /** Queues `key` to run as soon as a worker is free; a no-op if it is already queued or after shutdown. */
  add(key: string): void {
    if (this.stopping) return;
    this.metrics.adds.inc({ name: this.name });
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) {
      this.ready.push(key);
      this.updateDepth();
    }
    this.dispatch();
  }

  /** Queues `key` after `delayMs`; when it is already waiting, the earlier due time wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopping) return;
    if (delayMs <= 0) return this.add(key);
    const due = this.clock.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing && existing.due <= due) return;
    if (existing) this.clock.clearTimeout(existing.timer);
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.waiting.set(key, { due, timer });
  }

  /** Changes how many keys run at once; takes effect for the next keys picked up. */
  setWorkers(workers: number): void {
    validateWorkers(workers);
    this.workers = workers;
    this.dispatch();
  }

  /** Forgets a key's failure count (e.g. the object was deleted). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Consecutive failures of `key` so far. */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  stats(): WorkQueueStats {
    return { depth: this.ready.length, processing: this.processing.size, waiting: this.waiting.size };
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /**
   * Stops intake, drops keys not yet started, and waits up to `graceMs` for running handlers; then aborts their
   * signal. Resolves to true when every handler finished within the grace period.
   */
  async shutdown(graceMs: number): Promise<boolean> {
    this.stopping = true;
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.timer);
    this.waiting.clear();
    this.ready.length = 0;
    this.dirty.clear();
    this.updateDepth();
    if (this.inFlight.size === 0) return true;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(false), graceMs);
    });
    const drained = Promise.all([...this.inFlight]).then(() => true as const);
    const finished = await Promise.race([drained, timedOut]);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    if (!finished) {
      this.opts.logger.warn("work queue shutdown grace period ended with handlers still running", {
        queue: this.name,
        graceMs,
        running: [...this.processing],
      });
      this.abort.abort(new Error(`work queue ${this.name} shut down after ${graceMs}ms grace`));
    }
    return finished;
  }

  private dispatch(): void {
    while (!this.stopping && this.processing.size < this.workers && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      const run = this.run(key);
      this.inFlight.add(run);
      run.finally(() => this.inFlight.delete(run));
    }
    this.updateDepth();
  }

  private async run(key: string): Promise<void> {
    const started = this.clock.now();
    const failures = this.failures.get(key) ?? 0;
    try {
      const result = await this.opts.handler(key, { signal: this.abort.signal, failures });
      this.failures.delete(key);
      // A handler's requeue is floored: whatever it computed, the key does not come back within 100 ms.
      if (result?.requeueAfterMs !== undefined) {
        this.addAfter(key, Math.max(REQUEUE_FLOOR_MS, result.requeueAfterMs));
      }
    } catch (error) {
      const count = failures + 1;
      this.failures.set(key, count);
      const delayMs = backoffDelay(count, { baseMs: this.baseDelayMs, maxMs: this.maxDelayMs }, this.random);
      this.opts.logger.warn("reconcile failed; retrying with backoff", {
        queue: this.name,
        key,
        failures: count,
        retryInMs: delayMs,
        error,
      });
      if (!this.stopping) {
        this.metrics.retries.inc({ name: this.name });
        this.addAfter(key, delayMs);
      }
    } finally {
      this.metrics.duration.observe({ name: this.name }, (this.clock.now() - started) / 1000);
      this.processing.delete(key);
      // Added while it ran: run it once more now that it is free.
      if (this.dirty.has(key) && !this.stopping) this.ready.push(key);
      this.dispatch();
    }
  }

  private updateDepth(): void {
    this.metrics.depth.set({ name: this.name }, this.ready.length);
  }
}

function validateWorkers(workers: number): void {
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new RangeError(`work queue workers: expected an integer >= 1, received ${workers}`);
  }
}
