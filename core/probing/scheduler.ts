/**
 * The kernel's probe scheduler: probes every registered pod with its Service's health checker, leaders every
 * interval and candidates on a slower cadence, under a global concurrency bound, and reports when a pod's
 * thresholded health flips. One timer serves the whole scheduler (probe_timeline.ts), so thousands of pods cost
 * no timers of their own; entries live in probe_entry.ts and one check runs in probe_check.ts.
 */
import type { Logger } from "../log.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import type { HealthResult } from "../plugin/types.ts";
import { CheckMetrics, runCheck, STUCK_REASON } from "./probe_check.ts";
import { type Entry, type Probe, ProbeEntries, type ProbeTarget } from "./probe_entry.ts";
import { ProbeTimeline } from "./probe_timeline.ts";
import { type ProbeState, recordResult, UNPROBED } from "./threshold.ts";
import { type Clock, realClock } from "../time/clock.ts";

export interface ProbeSchedulerOptions {
  /** Most checks in flight at once across all targets; default 64. */
  concurrency?: number;
  metrics?: MetricsRegistry;
  logger?: Logger;
  clock?: Clock;
  /** Source of jitter in [0, 1); default Math.random. */
  random?: () => number;
  /** Called with each scheduled check's start lag in ms (benchmarks read exact percentiles from it). */
  onLag?: (lagMs: number) => void;
}

export type TransitionListener = (
  serviceKey: string,
  podUID: string,
  healthy: boolean,
  reason: string,
) => void;

export interface ProbeSchedulerStats {
  targets: number;
  inFlight: number;
  /** Timers the scheduler holds: 0 or 1, whatever the number of targets. */
  timers: number;
}

export const DEFAULT_PROBE_CONCURRENCY = 64;

export class ProbeScheduler {
  private readonly entries = new ProbeEntries();
  private readonly timeline: ProbeTimeline;
  private readonly listeners = new Set<TransitionListener>();
  private readonly concurrency: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger?: Logger;
  private readonly onLag?: (lagMs: number) => void;
  private readonly metrics: CheckMetrics;
  private inFlight = 0;
  private closed = false;

  constructor(opts: ProbeSchedulerOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? DEFAULT_PROBE_CONCURRENCY);
    this.clock = opts.clock ?? realClock;
    this.timeline = new ProbeTimeline(this.clock, () => this.pump());
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger;
    this.onLag = opts.onLag;
    this.metrics = new CheckMetrics(opts.metrics ?? new MetricsRegistry());
  }

  /** Registers a pod for probing or updates it (role, pod, spec, schedule); health state survives role changes. */
  upsert(target: ProbeTarget): void {
    if (this.closed) return;
    const now = this.clock.now();
    const existing = this.entries.get(target.serviceKey, target.podUID);
    if (!existing) {
      const entry = this.entries.add(target);
      // Jitter over one cadence spreads a burst of registrations (controller start) across time.
      this.schedule(entry, target.checker.passive ? now : now + this.random() * this.cadence(target));
      this.pump();
      return;
    }
    const old = existing.target;
    existing.target = target;
    const sameCheck = old.checker === target.checker && old.pod.ip === target.pod.ip &&
      JSON.stringify(old.spec) === JSON.stringify(target.spec);
    if (!sameCheck) {
      existing.stateGen++;
      existing.state = UNPROBED;
      if (old.checker !== target.checker) this.release(old);
    }
    if (target.checker.passive) {
      // A passive verdict comes from the pod object itself, so a changed pod is re-checked at once.
      this.schedule(existing, now);
    } else if (!sameCheck || existing.nextDue === undefined) {
      this.schedule(existing, now + this.random() * this.cadence(target));
    } else if (this.cadence(target) < this.cadence(old)) {
      // A promotion or a faster cadence takes effect now rather than after the old, slower due time. Plain
      // re-upserts (every reconcile) keep their due time, or frequent reconciles would probe more often.
      const soonest = now + this.random() * this.cadence(target);
      if (soonest < existing.nextDue) this.schedule(existing, soonest);
    }
    this.pump();
  }

  /** Stops probing one pod for one Service. */
  remove(podUID: string, serviceKey: string): void {
    const entry = this.entries.delete(serviceKey, podUID);
    if (!entry) return;
    this.retire(entry, "probe target removed");
    this.release(entry.target);
    this.pump();
  }

  /** Stops probing every pod of a Service (it opted out or was deleted). */
  removeService(serviceKey: string): void {
    for (const entry of this.entries.ofService(serviceKey)) this.remove(entry.target.podUID, serviceKey);
  }

  /** The thresholded health of every registered pod of a Service, by pod UID (the status endpoint). */
  serviceStates(serviceKey: string): Map<string, ProbeState> {
    const out = new Map<string, ProbeState>();
    for (const entry of this.entries.ofService(serviceKey)) out.set(entry.target.podUID, { ...entry.state });
    return out;
  }

  /** The thresholded health of a registered pod, or undefined when it is not registered. */
  state(serviceKey: string, podUID: string): ProbeState | undefined {
    const entry = this.entries.get(serviceKey, podUID);
    return entry ? { ...entry.state } : undefined;
  }

  /**
   * Probes a registered pod now (a successor is needed) and resolves with that check's result, which also
   * counts toward its thresholds. Bypasses the concurrency bound because failover waits on it; joins a check
   * already in flight instead of overlapping it.
   */
  probeNow(serviceKey: string, podUID: string): Promise<HealthResult> {
    const entry = this.entries.get(serviceKey, podUID);
    if (!entry) {
      return Promise.reject(
        new Error(`probeNow: pod ${podUID} is not registered for Service ${serviceKey}; upsert it first`),
      );
    }
    if (this.closed) return Promise.resolve({ healthy: false, reason: "probe scheduler closed" });
    const running = entry.inFlight;
    if (running && !running.settled) return new Promise((resolve) => running.waiters.push(resolve));
    if (running) return Promise.resolve(this.recordStuck(running)); // timed out, plugin ignored the abort
    const probe = this.start(entry);
    if (!entry.target.checker.passive) this.schedule(entry, this.clock.now() + this.cadence(entry.target));
    this.arm();
    return new Promise((resolve) => probe.waiters.push(resolve));
  }

  /** Calls `listener` whenever a pod's thresholded health is decided or flips; returns an unsubscribe. */
  onTransition(listener: TransitionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): ProbeSchedulerStats {
    return { targets: this.entries.size, inFlight: this.inFlight, timers: this.timeline.armed ? 1 : 0 };
  }

  /** Stops the timer, aborts checks in flight and releases every target. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timeline.stop();
    for (const entry of this.entries.drain()) {
      this.retire(entry, "probe scheduler closed");
      this.release(entry.target);
    }
    this.listeners.clear();
  }

  // ---- internals ----

  private cadence(t: ProbeTarget): number {
    return t.role === "leader" ? t.schedule.intervalMs : t.schedule.candidateIntervalMs;
  }

  private schedule(entry: Entry, at: number): void {
    this.timeline.schedule(entry, at, this.entries.size);
  }

  private retire(entry: Entry, reason: string): void {
    entry.removed = true;
    entry.gen++;
    const probe = entry.inFlight;
    if (probe && !probe.settled) {
      probe.settled = true;
      probe.controller.abort(new DOMException(reason, "AbortError"));
      for (const w of probe.waiters.splice(0)) w({ healthy: false, reason });
    }
  }

  /** Lets a checker drop per-target resources (a gRPC channel) unless another live target still uses them. */
  private release(target: ProbeTarget): void {
    if (!target.checker.release) return;
    for (const e of this.entries.values()) {
      if (e.target.checker === target.checker && e.target.pod.ip === target.pod.ip) return;
    }
    try {
      target.checker.release(target.pod, target.spec);
    } catch (e) {
      this.logger?.warn("health checker release failed", { plugin: target.type, error: e });
    }
  }

  /** Expires overdue checks, starts due ones while the bound allows, and re-arms the single timer. */
  private pump(): void {
    if (this.closed) return;
    const now = this.clock.now();
    for (let p = this.timeline.takeExpired(now); p; p = this.timeline.takeExpired(now)) this.expire(p);
    while (this.inFlight < this.concurrency) {
      const item = this.timeline.takeDue(now);
      if (!item) break;
      this.runDue(item.entry, item.at, now);
    }
    this.arm();
  }

  private runDue(entry: Entry, dueAt: number, now: number): void {
    const t = entry.target;
    if (!t.checker.passive) {
      // Fixed rate from the due time holds the interval; after a stall, restart from now instead of bursting.
      const next = dueAt + this.cadence(t);
      this.schedule(entry, next > now ? next : now + this.cadence(t));
    } else {
      entry.nextDue = undefined;
    }
    if (entry.inFlight) {
      // Never overlap checks of one target. A check past its timeout whose plugin ignored the abort still
      // counts against the pod each time it is due, so a hung check cannot keep a leader healthy.
      if (entry.inFlight.settled) this.recordStuck(entry.inFlight);
      return;
    }
    const lagMs = Math.max(0, now - dueAt);
    this.metrics.lag(lagMs);
    this.onLag?.(lagMs);
    this.start(entry);
  }

  private start(entry: Entry): Probe {
    const t = entry.target;
    const now = this.clock.now();
    const probe: Probe = {
      entry,
      stateGen: entry.stateGen,
      controller: new AbortController(),
      startedAt: now,
      settled: false,
      waiters: [],
    };
    entry.inFlight = probe;
    this.inFlight++;
    const deadline = now + t.schedule.timeoutMs;
    this.timeline.addDeadline(deadline, probe);
    runCheck(t, probe.controller.signal, deadline)
      .then((result) => {
        this.inFlight--;
        if (entry.inFlight === probe) entry.inFlight = undefined;
        if (!probe.settled) this.finish(probe, result);
        this.pump();
      });
    return probe;
  }

  private recordStuck(probe: Probe): HealthResult {
    const stuck: Probe = { ...probe, startedAt: this.clock.now(), settled: false, waiters: [] };
    const result = { healthy: false, reason: STUCK_REASON };
    this.finish(stuck, result);
    return result;
  }

  private expire(probe: Probe): void {
    const ms = probe.entry.target.schedule.timeoutMs;
    const reason = `timeout after ${ms}ms`;
    probe.controller.abort(new DOMException(reason, "TimeoutError"));
    // The slot stays taken until the check settles, so a plugin ignoring the abort cannot exceed the bound.
    this.finish(probe, { healthy: false, reason });
  }

  private finish(probe: Probe, result: HealthResult): void {
    probe.settled = true;
    const entry = probe.entry;
    const t = entry.target;
    const now = this.clock.now();
    const plugin = t.type ?? "unknown";
    this.metrics.checked(plugin, result.healthy, Math.max(0, now - probe.startedAt));
    if (!entry.removed && probe.stateGen === entry.stateGen) {
      const prev = entry.state;
      entry.state = recordResult(prev, result, now, t.role, t.schedule);
      const healthy = entry.state.healthy;
      if (healthy !== undefined && healthy !== prev.healthy) this.emit(t, healthy, result.reason);
    }
    for (const w of probe.waiters.splice(0)) w(result);
  }

  private emit(t: ProbeTarget, healthy: boolean, reason: string): void {
    this.logger?.debug("health transition", {
      service: t.serviceKey,
      pod: t.pod.name,
      role: t.role,
      healthy,
      reason,
    });
    for (const listener of this.listeners) {
      try {
        listener(t.serviceKey, t.podUID, healthy, reason);
      } catch (e) {
        this.logger?.error("health transition listener failed", { service: t.serviceKey, error: e });
      }
    }
  }

  /** Arms the one timer for the earliest deadline, or the earliest due probe when a slot is free. */
  private arm(): void {
    if (this.closed) return;
    this.timeline.arm(this.inFlight < this.concurrency);
  }
}
