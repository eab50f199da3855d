/**
 * The replica election among zen-lead's own replicas over a coordination.k8s.io/v1 Lease. The holder renews every
 * retryPeriod and considers itself the holder only until lastSuccessfulRenew + renewDeadline, which is shorter than
 * the leaseDuration others wait, so it stops writing before anyone else may start. Standbys watch the Lease and try
 * at once when it is released or expires; writes use resourceVersion for optimistic concurrency. The loop never
 * ends while the process runs: every error of every phase is retried with capped, jittered backoff.
 */
import type { KubeClient } from "../kube/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/errors.ts";
import { apiVersionOf, Leases, resourcePath } from "../kube/paths.ts";
import type { Lease } from "../kube/types.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { backoffDelay, type Random } from "../time/backoff.ts";
import { sleep } from "../time/sleep.ts";
import { canAcquire, leaseSpecFor, type Observation, observe, releasedSpec } from "./lease_record.ts";
import { electionMetrics } from "./metrics.ts";
import { DEFAULT_LEASE_TIMINGS, validateLeaseTimings } from "./timings.ts";
import { safeInterval, safeTimeout, timeoutSignal } from "../timers.ts";

export interface LeaseElectorOptions {
  client: KubeClient;
  namespace: string;
  /** `--leader-election-id`. */
  name: string;
  /** This replica, usually the pod name. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called when this replica acquires the Lease; `signal` aborts when it loses it. */
  onLeaseAcquired(signal: AbortSignal): void | Promise<void>;
  onLeaseLost?(): void;
  logger: Logger;
  metrics: MetricsRegistry;
  random?: Random;
}

export class LeaseElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observation: Observation | undefined;
  private holding = false;
  private lastRenewAt = -Infinity;
  private term: AbortController | undefined;
  private loseTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private released = false;
  private running = false;
  private lastTickAt = -Infinity;
  private readonly stopper = new AbortController();
  private readonly log: Logger;
  private readonly metrics;
  private readonly random: Random;

  constructor(private readonly opts: LeaseElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? DEFAULT_LEASE_TIMINGS.leaseDurationMs;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULT_LEASE_TIMINGS.renewDeadlineMs;
    this.retryPeriodMs = opts.retryPeriodMs ?? DEFAULT_LEASE_TIMINGS.retryPeriodMs;
    validateLeaseTimings({
      leaseDurationMs: this.leaseDurationMs,
      renewDeadlineMs: this.renewDeadlineMs,
      retryPeriodMs: this.retryPeriodMs,
    }, `leader election ${opts.namespace}/${opts.name}`);
    if (!opts.identity) throw new Error(`leader election ${opts.namespace}/${opts.name}: identity is empty`);
    this.random = opts.random ?? Math.random;
    this.log = opts.logger.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.metrics = electionMetrics(opts.metrics);
    this.metrics.status.set({ name: opts.name }, 0);
  }

  /** True only while a renewal sent less than renewDeadline ago succeeded. */
  holdsLease(): boolean {
    return this.holding && Date.now() < this.lastRenewAt + this.renewDeadlineMs;
  }

  /** The holder this replica last saw on the Lease ("" when free). */
  get observedHolder(): string {
    return this.observation?.holder ?? "";
  }

  /**
   * Undefined while the election loop runs and moves; otherwise why not (for `/healthz`). Every step of the loop
   * is bounded (a try by the renew deadline, a wait by the retry period), so no tick for longer than the lease
   * duration means it is wedged.
   */
  notLiveReason(now = Date.now()): string | undefined {
    if (!this.running) return "leader election loop is not running";
    const idleMs = now - this.lastTickAt;
    if (idleMs > this.leaseDurationMs + this.renewDeadlineMs) {
      return `leader election loop made no progress for ${Math.round(idleMs)}ms`;
    }
    return undefined;
  }

  /** Ends `run` for good without releasing the Lease (as an aborted signal does). */
  stop(): void {
    this.stopper.abort(new Error("election stopped"));
  }

  /** Campaigns, holds and renews the Lease until `signal` aborts (then the term ends without releasing it). */
  async run(outer: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([outer, this.stopper.signal]);
    this.released = false;
    this.running = true;
    this.lastTickAt = Date.now();
    // The Lease watch lives as long as this run, also when release() ends it without `signal`.
    const runScope = new AbortController();
    const stopScope = () => runScope.abort(signal.reason);
    signal.addEventListener("abort", stopScope, { once: true });
    const watching = this.watchLease(runScope.signal);
    const gauge = safeInterval(() => this.updateSinceRenew(), 1000);
    Deno.unrefTimer(gauge as unknown as number);
    let failures = 0;
    try {
      while (!signal.aborted && !this.released) {
        this.lastTickAt = Date.now();
        try {
          const before = this.observation?.holder;
          const renewedAt = await this.attempt(signal, this.renewDeadlineMs);
          failures = 0;
          if (renewedAt !== undefined) {
            this.startTerm(renewedAt, before);
            await this.renewLoop(signal);
          } else {
            await this.waitForChance(signal);
          }
        } catch (error) {
          if (signal.aborted || this.released) break;
          failures++;
          this.metrics.errors.inc({ name: this.opts.name, phase: "campaign" });
          const delayMs = this.backoff(failures);
          this.log.warn("leader election try failed; campaigning again", {
            error,
            failures,
            retryInMs: delayMs,
          });
          await this.pause(delayMs, signal);
        }
      }
    } finally {
      this.running = false;
      clearInterval(gauge);
      this.endTerm("shutdown");
      signal.removeEventListener("abort", stopScope);
      runScope.abort(new Error("election stopped"));
      await watching;
    }
  }

  /** Sleeps `ms`, cut short when the API server answers again after an outage. */
  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const reach = this.opts.client.reachability;
    const answered = reach.downSince === undefined ? new Promise<void>(() => {}) : reach.whenAnswering(both);
    await Promise.race([sleep(ms, both).catch(() => {}), answered]);
    stop.abort();
  }

  /** Capped and jittered: up to a quarter less than base*2^n, never above the retry period. */
  private backoff(failures: number): number {
    const base = Math.min(500, this.retryPeriodMs / 2);
    const policy = { baseMs: base, maxMs: this.retryPeriodMs, jitter: 0, jitterBelow: 0.25 };
    return backoffDelay(failures, policy, this.random);
  }

  /**
   * Gives the Lease up on graceful shutdown: ends the term first (no more writes), then clears the holder and sets
   * a 1 s duration so a standby takes over at once. Resolves to whether this replica held it.
   */
  async release(): Promise<boolean> {
    this.released = true;
    this.endTerm("released");
    this.wake?.();
    try {
      const lease = await this.opts.client.get<Lease>(Leases, this.opts.namespace, this.opts.name, {
        operation: "get_leases",
        maxRetries: 1,
      });
      if ((lease.spec?.holderIdentity ?? "") !== this.opts.identity) return false;
      await this.opts.client.replace<Lease>(
        Leases,
        { ...lease, spec: releasedSpec(lease.spec, Date.now()) },
        {
          operation: "release_leases",
          maxRetries: 1,
        },
      );
      this.log.info("released leadership");
      return true;
    } catch (error) {
      if (isNotFound(error) || isConflict(error)) return false;
      throw error;
    }
  }

  /**
   * One try to take or renew the Lease, all of it (read and write) within `budgetMs`. Resolves to when the
   * successful write was sent (the renewTime it carries), or undefined when someone else validly holds the Lease
   * or a write raced. Throws on any other error.
   */
  private async attempt(signal: AbortSignal, budgetMs: number): Promise<number | undefined> {
    const { client, namespace, name, identity } = this.opts;
    const deadline = Date.now() + budgetMs;
    const budget = AbortSignal.any([signal, timeoutSignal(budgetMs)]);
    const call = () => ({ signal: budget, timeoutMs: Math.max(1, deadline - Date.now()), maxRetries: 0 });
    let lease: Lease;
    try {
      lease = await client.get<Lease>(Leases, namespace, name, call());
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const sentAt = Date.now();
      try {
        const created = await client.create<Lease>(Leases, {
          apiVersion: apiVersionOf(Leases),
          kind: "Lease",
          metadata: { namespace, name },
          spec: leaseSpecFor(undefined, identity, this.leaseDurationMs, sentAt),
        }, call());
        this.observation = observe(this.observation, created, Date.now());
        return sentAt;
      } catch (e) {
        if (isAlreadyExists(e)) return undefined;
        throw e;
      }
    }
    this.observation = observe(this.observation, lease, Date.now());
    if (!canAcquire(this.observation, identity, Date.now())) return undefined;
    // renewTime is the moment the write leaves, not when the try began: a slow read must not age the record.
    const sentAt = Date.now();
    try {
      const written = await client.replace<Lease>(Leases, {
        ...lease,
        spec: leaseSpecFor(lease.spec, identity, this.leaseDurationMs, sentAt),
      }, call());
      this.observation = observe(this.observation, written, Date.now());
      return sentAt;
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
  }

  private startTerm(renewedAt: number, previousHolder: string | undefined): void {
    if (Date.now() >= renewedAt + this.renewDeadlineMs) return; // won too late to count
    this.holding = true;
    this.lastRenewAt = renewedAt;
    this.updateSinceRenew();
    this.armLoseTimer();
    this.term = new AbortController();
    this.metrics.status.set({ name: this.opts.name }, 1);
    this.metrics.transitions.inc({ name: this.opts.name, event: "started" });
    this.log.info("started leading", { previousHolder: previousHolder ?? "unknown" });
    const signal = this.term.signal;
    Promise.resolve()
      .then(() => this.opts.onLeaseAcquired(signal))
      .catch((error) => this.log.error("onLeaseAcquired failed", { error }));
  }

  private endTerm(why: string): void {
    if (!this.holding) return;
    this.holding = false;
    clearTimeout(this.loseTimer);
    this.term?.abort(new Error(`leadership ended: ${why}`));
    this.metrics.status.set({ name: this.opts.name }, 0);
    this.metrics.transitions.inc({ name: this.opts.name, event: "stopped" });
    this.log.warn("stopped leading", { reason: why, msSinceLastRenew: Date.now() - this.lastRenewAt });
    try {
      this.opts.onLeaseLost?.();
    } catch (error) {
      this.log.error("onLeaseLost failed", { error });
    }
  }

  private updateSinceRenew(): void {
    if (this.lastRenewAt === -Infinity) return;
    this.metrics.sinceRenew.set({ name: this.opts.name }, (Date.now() - this.lastRenewAt) / 1000);
  }

  /** Ends the term exactly at the renew deadline, even while a renewal request hangs. */
  private armLoseTimer(): void {
    clearTimeout(this.loseTimer);
    const ms = this.lastRenewAt + this.renewDeadlineMs - Date.now();
    this.loseTimer = safeTimeout(() => this.endTerm("renew deadline passed"), ms);
  }

  /** Renews every retry period until the term ends; never throws (a failed renewal is retried in time). */
  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (this.holding && !signal.aborted) {
      this.lastTickAt = Date.now();
      await sleep(this.retryPeriodMs, signal).catch(() => {});
      if (!this.holding || signal.aborted) return;
      this.lastTickAt = Date.now();
      const remaining = this.lastRenewAt + this.renewDeadlineMs - Date.now();
      if (remaining <= 0) return this.endTerm("renew deadline passed");
      let renewedAt: number | undefined;
      try {
        renewedAt = await this.attempt(signal, remaining);
      } catch (error) {
        if (signal.aborted) return;
        this.metrics.errors.inc({ name: this.opts.name, phase: "renew" });
        this.log.warn("lease renewal failed", {
          error,
          msLeft: this.lastRenewAt + this.renewDeadlineMs - Date.now(),
        });
      }
      if (!this.holding) return;
      // Never valid after the deadline of the renewal before it, even if the answer came just in time.
      if (renewedAt !== undefined && Date.now() < this.lastRenewAt + this.renewDeadlineMs) {
        this.lastRenewAt = renewedAt;
        this.updateSinceRenew();
        this.armLoseTimer();
        continue;
      }
      this.metrics.renewFailures.inc({ name: this.opts.name });
      if (this.observation && this.observation.holder !== this.opts.identity) {
        return this.endTerm(`lease taken by ${this.observation.holder || "nobody"}`);
      }
    }
  }

  /** Sleeps until the retry period ends, the Lease changes (watch) or the observed holder's lease expires. */
  private async waitForChance(signal: AbortSignal): Promise<void> {
    let waitMs = this.retryPeriodMs;
    const o = this.observation;
    if (o && o.holder && o.holder !== this.opts.identity) {
      waitMs = Math.min(waitMs, Math.max(0, o.observedAt + o.durationMs - Date.now()) + 1);
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      const timer = safeTimeout(done, waitMs);
      signal.addEventListener("abort", done, { once: true });
      this.wake = done;
    });
  }

  /** Follows the Lease so a standby reacts to a release or a change of holder immediately. */
  private async watchLease(signal: AbortSignal): Promise<void> {
    const path = resourcePath(Leases, this.opts.namespace);
    let failures = 0;
    while (!signal.aborted && !this.released) {
      try {
        const events = this.opts.client.watch<Lease>(
          path,
          {
            fieldSelector: `metadata.name=${this.opts.name}`,
            timeoutSeconds: 300,
          },
          signal,
          { operation: "watch_leases" },
        );
        for await (const event of events) {
          failures = 0;
          if (event.type !== "ADDED" && event.type !== "MODIFIED" && event.type !== "DELETED") continue;
          const lease = event.type === "DELETED" ? { ...event.object, spec: {} } : event.object;
          this.observation = observe(this.observation, lease, Date.now());
          if (!this.holding && this.observation.holder !== this.opts.identity) this.wake?.();
        }
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        this.log.debug("lease watch ended; reconnecting", { error });
      }
      await this.pause(failures ? this.backoff(failures) : this.retryPeriodMs, signal);
    }
  }
}
