/**
 * Leader election among zen-lead's own replicas over a coordination.k8s.io/v1 Lease. The leader renews every
 * retryPeriod and considers itself leader only until lastSuccessfulRenew + renewDeadline, which is shorter than
 * the leaseDuration others wait, so it stops writing before anyone else may start. Standbys watch the Lease and try
 * at once when it is released or expires; writes use resourceVersion for optimistic concurrency.
 */
import type { KubeClient } from "../kube/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/errors.ts";
import { apiVersionOf, Leases, resourcePath } from "../kube/paths.ts";
import type { Lease } from "../kube/types.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { sleep } from "../queue/clock.ts";
import { canAcquire, leaseSpecFor, type Observation, observe, releasedSpec } from "./lease_record.ts";
import { safeTimeout } from "../timers.ts";

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
  /** Called when this replica becomes leader; `signal` aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading?(): void;
  logger: Logger;
  metrics: MetricsRegistry;
}

export class LeaseElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observation: Observation | undefined;
  private leading = false;
  private lastRenewAt = -Infinity;
  private term: AbortController | undefined;
  private loseTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private released = false;
  private readonly log: Logger;
  private readonly metrics;

  constructor(private readonly opts: LeaseElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new RangeError(
        `leader election ${opts.namespace}/${opts.name}: expected leaseDuration > renewDeadline > retryPeriod, ` +
          `received ${this.leaseDurationMs}ms, ${this.renewDeadlineMs}ms, ${this.retryPeriodMs}ms`,
      );
    }
    if (!opts.identity) throw new Error(`leader election ${opts.namespace}/${opts.name}: identity is empty`);
    this.log = opts.logger.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.metrics = {
      status: opts.metrics.gauge({
        name: "zen_lead_leader_election_status",
        help: "1 while this replica is the active controller.",
        labelNames: ["name"],
      }),
      transitions: opts.metrics.counter({
        name: "zen_lead_leader_election_transitions_total",
        help: "Times this replica started or stopped leading.",
        labelNames: ["name", "event"],
      }),
    };
    this.metrics.status.set({ name: opts.name }, 0);
  }

  /** True only while a renewal succeeded less than renewDeadline ago. */
  isLeader(): boolean {
    return this.leading && Date.now() < this.lastRenewAt + this.renewDeadlineMs;
  }

  /** The holder this replica last saw on the Lease ("" when free). */
  get observedHolder(): string {
    return this.observation?.holder ?? "";
  }

  /** Campaigns, leads and renews until `signal` aborts (then leadership ends without releasing the Lease). */
  async run(signal: AbortSignal): Promise<void> {
    this.released = false;
    // The Lease watch lives as long as this run, also when release() ends it without `signal`.
    const runScope = new AbortController();
    const stopScope = () => runScope.abort(signal.reason);
    signal.addEventListener("abort", stopScope, { once: true });
    const watching = this.watchLease(runScope.signal);
    try {
      while (!signal.aborted && !this.released) {
        if (await this.attempt(signal)) {
          this.startLeading();
          await this.renewLoop(signal);
        } else {
          await this.waitForChance(signal);
        }
      }
    } finally {
      this.stopLeading("shutdown");
      signal.removeEventListener("abort", stopScope);
      runScope.abort(new Error("election stopped"));
      await watching;
    }
  }

  /**
   * Gives the Lease up on graceful shutdown: stops leading first (no more writes), then clears the holder and sets
   * a 1 s duration so a standby takes over at once. Resolves to whether this replica held it.
   */
  async release(): Promise<boolean> {
    this.released = true;
    this.stopLeading("released");
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

  /** One try to take or renew the Lease; false when someone else validly holds it or a write raced. */
  private async attempt(signal: AbortSignal, timeoutMs = this.renewDeadlineMs): Promise<boolean> {
    const { client, namespace, name, identity } = this.opts;
    const call = { signal, timeoutMs, maxRetries: 0 };
    const now = Date.now();
    let lease: Lease;
    try {
      lease = await client.get<Lease>(Leases, namespace, name, call);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        const created = await client.create<Lease>(Leases, {
          apiVersion: apiVersionOf(Leases),
          kind: "Lease",
          metadata: { namespace, name },
          spec: leaseSpecFor(undefined, identity, this.leaseDurationMs, now),
        }, call);
        this.observation = observe(this.observation, created, Date.now());
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    this.observation = observe(this.observation, lease, Date.now());
    if (!canAcquire(this.observation, identity, Date.now())) return false;
    try {
      const written = await client.replace<Lease>(Leases, {
        ...lease,
        spec: leaseSpecFor(lease.spec, identity, this.leaseDurationMs, now),
      }, call);
      this.observation = observe(this.observation, written, Date.now());
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  private startLeading(): void {
    this.leading = true;
    this.lastRenewAt = Date.now();
    this.armLoseTimer();
    this.term = new AbortController();
    this.metrics.status.set({ name: this.opts.name }, 1);
    this.metrics.transitions.inc({ name: this.opts.name, event: "started" });
    this.log.info("started leading");
    const signal = this.term.signal;
    Promise.resolve()
      .then(() => this.opts.onStartedLeading(signal))
      .catch((error) => this.log.error("onStartedLeading failed", { error }));
  }

  private stopLeading(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.loseTimer);
    this.term?.abort(new Error(`leadership ended: ${why}`));
    this.metrics.status.set({ name: this.opts.name }, 0);
    this.metrics.transitions.inc({ name: this.opts.name, event: "stopped" });
    this.log.warn("stopped leading", { reason: why });
    try {
      this.opts.onStoppedLeading?.();
    } catch (error) {
      this.log.error("onStoppedLeading failed", { error });
    }
  }

  /** Ends leadership exactly at the renew deadline, even while a renewal request hangs. */
  private armLoseTimer(): void {
    clearTimeout(this.loseTimer);
    const ms = this.lastRenewAt + this.renewDeadlineMs - Date.now();
    this.loseTimer = safeTimeout(() => this.stopLeading("renew deadline passed"), ms);
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (this.leading && !signal.aborted) {
      await sleep(this.retryPeriodMs, signal).catch(() => {});
      if (!this.leading || signal.aborted) return;
      const started = Date.now();
      const remaining = this.lastRenewAt + this.renewDeadlineMs - started;
      if (remaining <= 0) return this.stopLeading("renew deadline passed");
      let renewed = false;
      try {
        renewed = await this.attempt(signal, remaining);
      } catch (error) {
        if (signal.aborted) return;
        this.log.warn("lease renewal failed", {
          error,
          msLeft: this.lastRenewAt + this.renewDeadlineMs - Date.now(),
        });
      }
      if (!this.leading) return;
      if (renewed) {
        // Counted from when the request was sent: the written renewTime is no earlier than that.
        this.lastRenewAt = started;
        this.armLoseTimer();
      } else if (this.observation && this.observation.holder !== this.opts.identity) {
        return this.stopLeading(`lease taken by ${this.observation.holder || "nobody"}`);
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
          if (event.type !== "ADDED" && event.type !== "MODIFIED" && event.type !== "DELETED") continue;
          const lease = event.type === "DELETED" ? { ...event.object, spec: {} } : event.object;
          this.observation = observe(this.observation, lease, Date.now());
          if (!this.leading && this.observation.holder !== this.opts.identity) this.wake?.();
        }
      } catch (error) {
        if (signal.aborted) return;
        this.log.debug("lease watch ended; reconnecting", { error });
      }
      await sleep(this.retryPeriodMs, signal).catch(() => {});
    }
  }
}
