/**
 * The controller's work queue, after controller-runtime's: keys are deduplicated, one key never runs twice at
 * once (a key added while it runs runs once more afterwards), failures back off per key, and `addAfter` keeps the
 * earliest due time. Reconciles are level-triggered, so running a key once for many adds loses nothing.
 */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { backoffDelay, type Random } from "../time/backoff.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";
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
  /** Consecutive failures after which a key is parked in the dead-letter set (default 15: minutes of failing). */
  deadLetterAfter?: number;
  /**
   * Whether a failure counts toward parking (default: all). An outage is not the key's fault: the controller
   * counts only failures the API server answered, so no key is parked because the server was down.
   */
  countsTowardDeadLetter?(error: unknown): boolean;
  /** How often a parked key is tried again (default 5 min); events do not wake it, unpark() does. */
  deadLetterRetryMs?: number;
  /**
   * Retries of one namespace that may run at once (default: half the workers, at least 1), so one namespace's
   * failing keys cannot hold every worker while other namespaces' keys wait.
   */
  namespaceRetryBudget?: number;
  /** Called once when a key is parked, with the error of its last attempt. */
  onDeadLetter?(key: string, failures: number, error: unknown): void;
}

/** A key that kept failing: tried again only on the slow cadence. */
export interface DeadLetter {
  key: string;
  failures: number;
  since: string;
  lastError: string;
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
  private readonly dead = new Map<string, DeadLetter>();
  /** Consecutive failures that count toward parking, per key. */
  private readonly strikes = new Map<string, number>();
  /** Retries running now, per namespace (the part of a key before "/"). */
  private readonly retriesRunning = new Map<string, number>();
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
      deadLetters: m.gauge({
        name: "zen_lead_workqueue_dead_letters",
        help:
          "Keys parked after failing too often; retried on a slow cadence (listed at /debug/deadletters).",
        labelNames,
      }),
      duration: m.histogram({
        name: "zen_lead_workqueue_work_duration_seconds",
        help: "Time a handler took for one key.",
        labelNames,
      }),
    };
    this.updateDepth();
    this.metrics.deadLetters.set({ name: this.name }, 0);
  }

  /** Queues `key` to run as soon as a worker is free; a no-op if it is already queued or after shutdown. */
  add(key: string): void {
    if (this.stopping) return;
    // A parked key runs only on its slow cadence (addAfter) or once unparked.
    if (this.dead.has(key) && !this.dueNow.has(key)) return;
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
      this.dueNow.add(key);
      this.add(key);
      this.dueNow.delete(key);
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
    this.strikes.delete(key);
    this.unpark(key);
  }

  /** Takes every key out of the dead-letter set and runs it now (e.g. the API server is back after an outage). */
  unparkAll(): void {
    const keys = [...this.dead.keys()];
    for (const k of keys) this.unpark(k);
    for (const k of keys) this.add(k);
  }

  /** Takes a key out of the dead-letter set (its object changed: worth a prompt try), keeping its failures. */
  unpark(key: string): void {
    if (!this.dead.delete(key)) return;
    this.metrics.deadLetters.set({ name: this.name }, this.dead.size);
  }

  /** The parked keys, for the debug endpoint. */
  deadLetters(): DeadLetter[] {
    return [...this.dead.values()];
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

  private readonly dueNow = new Set<string>();

  private get retryBudget(): number {
    return this.opts.namespaceRetryBudget ?? Math.max(1, Math.floor(this.workers / 2));
  }

  private dispatch(): void {
    let deferred = 0;
    while (!this.stopping && this.processing.size < this.workers && this.ready.length > deferred) {
      const key = this.ready.shift()!;
      const ns = namespaceOf(key);
      if (this.failures.has(key) && (this.retriesRunning.get(ns) ?? 0) >= this.retryBudget) {
        // Over its namespace's retry budget: to the back of the line, behind other namespaces' keys.
        this.ready.push(key);
        deferred++;
        continue;
      }
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
    const ns = namespaceOf(key);
    if (failures > 0) this.retriesRunning.set(ns, (this.retriesRunning.get(ns) ?? 0) + 1);
    try {
      const result = await this.opts.handler(key, { signal: this.abort.signal, failures });
      this.failures.delete(key);
      this.strikes.delete(key);
      this.unpark(key);
      // A handler's requeue is floored: whatever it computed, the key does not come back within 100 ms.
      if (result?.requeueAfterMs !== undefined) {
        this.addAfter(key, Math.max(REQUEUE_FLOOR_MS, result.requeueAfterMs));
      }
    } catch (error) {
      const count = failures + 1;
      this.failures.set(key, count);
      const counts = this.opts.countsTowardDeadLetter?.(error) ?? true;
      const strikes = (this.strikes.get(key) ?? 0) + (counts ? 1 : 0);
      this.strikes.set(key, strikes);
      if (strikes >= (this.opts.deadLetterAfter ?? 15) && !this.stopping) {
        this.park(key, count, error);
        return;
      }
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
      if (failures > 0) this.retriesRunning.set(ns, (this.retriesRunning.get(ns) ?? 1) - 1);
      this.metrics.duration.observe({ name: this.name }, (this.clock.now() - started) / 1000);
      this.processing.delete(key);
      // Added while it ran: run it once more now that it is free.
      if (this.dirty.has(key) && !this.stopping) this.ready.push(key);
      this.dispatch();
    }
  }

  private park(key: string, failures: number, error: unknown): void {
    const retryMs = this.opts.deadLetterRetryMs ?? 5 * 60_000;
    const first = !this.dead.has(key);
    this.dead.set(key, {
      key,
      failures,
      since: this.dead.get(key)?.since ?? new Date(this.clock.now()).toISOString(),
      lastError: (error instanceof Error ? error.message : String(error)).slice(0, 300),
    });
    this.metrics.deadLetters.set({ name: this.name }, this.dead.size);
    this.dirty.delete(key); // events while parked do not bring it back early
    this.addAfter(key, retryMs);
    if (first) {
      this.opts.logger.error("key keeps failing; parked in the dead-letter set", {
        queue: this.name,
        key,
        failures,
        retryInMs: retryMs,
        error,
      });
      try {
        this.opts.onDeadLetter?.(key, failures, error);
      } catch { /* a listener's problem is its own */ }
    }
  }

  private updateDepth(): void {
    this.metrics.depth.set({ name: this.name }, this.ready.length);
  }
}

function namespaceOf(key: string): string {
  const i = key.indexOf("/");
  return i < 0 ? "" : key.slice(0, i);
}

function validateWorkers(workers: number): void {
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new RangeError(`work queue workers: expected an integer >= 1, received ${workers}`);
  }
}
