/**
 * The difftracker engine: keeps a service gateway in step with Kubernetes. Kubernetes-side state (services,
 * their leader pods, egress pods) comes in through apply/remove and the pod hooks (intake.ts, egress.ts) into
 * the book of services (book.ts); Azure-side state is what the gateway listed at start plus every write it
 * accepted since, re-read when a write's outcome is unknown and reconciled periodically. A service updater
 * (bounded concurrency) runs each service's state machine; a single-flight locations updater writes the
 * difference of addresses. This file is the lifecycle (start, resync, reconcile, close) and the public face.
 */
import {
  type BackendServiceState,
  type BackendStatus,
  type Clock,
  type CloudBackend,
  type Logger,
  sleep,
  type TimerHandle,
} from "../../../mod.ts";
import type { GatewayApi } from "../arm/gateway_api.ts";
import { Adoption } from "./adoption.ts";
import { retryAfterFailure } from "./backoff.ts";
import { ServiceBook } from "./book.ts";
import { DEFAULT_ENGINE_CONFIG, type EngineConfig, type EngineContext } from "./context.ts";
import { bufferedView, servicesView } from "./debug_view.ts";
import { EgressIntake, type EgressPod } from "./egress.ts";
import { ServiceIntake } from "./intake.ts";
import { LocationsUpdater } from "./locations_updater.ts";
import type { EngineMetrics } from "./metrics.ts";
import { findRepairs, ReconcileSchedule } from "./reconcile.ts";
import { ServiceUpdater } from "./service_updater.ts";

export { DEFAULT_ENGINE_CONFIG, type EgressPod, type EngineConfig };

export interface EngineDeps {
  api: GatewayApi;
  clock: Clock;
  logger: Logger;
  metrics: EngineMetrics;
  random?: () => number;
  config?: Partial<EngineConfig>;
}

export class ServiceGatewayEngine implements CloudBackend {
  readonly config: EngineConfig;
  private readonly ctx: EngineContext;
  private readonly book: ServiceBook;
  private readonly intake: ServiceIntake;
  private readonly egress: EgressIntake;
  private readonly locations: LocationsUpdater;
  private readonly services: ServiceUpdater;
  private readonly adoption: Adoption;
  private readonly reconciler: ReconcileSchedule;

  private started = false;
  private closed = false;
  private kickScheduled = false;
  private readonly abort = new AbortController();
  private graceTimer: TimerHandle | undefined;
  private startPromise: Promise<void> | undefined;

  constructor(deps: EngineDeps) {
    this.config = { ...DEFAULT_ENGINE_CONFIG, ...deps.config };
    this.ctx = {
      api: deps.api,
      clock: deps.clock,
      log: deps.logger,
      m: deps.metrics,
      random: deps.random ?? Math.random,
      config: this.config,
      running: () => this.started && !this.closed,
      kick: () => this.kick(),
      withTimeout: (ms, fn) => this.withTimeout(ms, fn),
    };
    this.book = new ServiceBook(this.ctx);
    this.intake = new ServiceIntake(this.ctx, this.book);
    this.egress = new EgressIntake(this.ctx, this.book);
    this.locations = new LocationsUpdater(this.ctx, this.book);
    this.reconciler = new ReconcileSchedule(
      deps.clock,
      this.config.reconcileIntervalMs,
      () => this.reconcile(),
    );
    this.services = new ServiceUpdater(
      this.ctx,
      this.book,
      this.locations,
      () => this.reconciler.schedule(this.config.reconcileAfterFailureMs),
    );
    this.adoption = new Adoption(this.ctx, this.book);
  }

  // ---- lifecycle ----

  /** Lists the gateway and reconciles; retries with backoff until it succeeds or the engine closes. */
  start(): Promise<void> {
    this.startPromise ??= this.runStart();
    return this.startPromise;
  }

  private async runStart(): Promise<void> {
    const { clock, log } = this.ctx;
    // The attempt count follows the backoff policy: after parking, a fresh series starts (1 s, 2 s, ...).
    let attempts = 0;
    while (!this.closed) {
      try {
        await this.withTimeout(this.config.operationTimeoutMs, async (signal) => {
          await this.ctx.api.ensureGateway(signal);
          const listing = await this.listGateway(signal);
          if (this.closed) return;
          const azure = this.locations.adopt(listing.locations);
          this.adoption.adoptServices(
            listing.services.map((s) => ({ name: s.name, outbound: s.serviceType === "Outbound" })),
            azure,
          );
          this.adoption.adoptLeftovers(listing.resources);
          this.adoption.learnKeys(listing.resources);
        });
        if (this.closed) return;
        this.started = true;
        this.graceTimer = clock.setTimeout(() => this.releaseOrphans(), this.config.orphanGraceMs);
        if (this.config.reconcileIntervalMs > 0) this.reconciler.schedule(this.config.reconcileIntervalMs);
        log.info("engine started", { services: this.book.records.size, locations: this.locations.size });
        this.kick();
        return;
      } catch (err) {
        if (this.closed) return;
        const retry = retryAfterFailure(this.config.backoff, attempts + 1, this.ctx.random);
        attempts = retry.attempts;
        log.warn("engine start failed; retrying", {
          error: err,
          attempt: attempts || this.config.backoff.parkAfterAttempts,
          parked: retry.parked,
          retryInMs: retry.delayMs,
        });
        try {
          await sleep(retry.delayMs, this.abort.signal, clock);
        } catch {
          return;
        }
      }
    }
  }

  /** The gateway's services, addresses and tagged resources; when one list fails the others are aborted. */
  private async listGateway(signal: AbortSignal, withLocations = true) {
    const { api } = this.ctx;
    const sibling = new AbortController();
    const both = AbortSignal.any([signal, sibling.signal]);
    const failFast = <T>(p: Promise<T>) =>
      p.catch((err) => {
        sibling.abort(err);
        throw err;
      });
    const [services, locations, resources] = await Promise.all([
      failFast(api.listServices(both)),
      withLocations ? failFast(api.listAddressLocations(both)) : Promise.resolve([]),
      failFast(api.listOwnedResources(both)),
    ]);
    return { services, locations, resources };
  }

  /** The controller has re-applied every Service after a start: unclaimed adopted services are orphans now. */
  resyncDone(): void {
    if (this.graceTimer !== undefined) this.ctx.clock.clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.started) this.releaseOrphans();
    else this.config.orphanGraceMs = 0;
  }

  private releaseOrphans(): void {
    this.graceTimer = undefined;
    this.adoption.releaseOrphans();
    this.kick();
  }

  /** Lists the gateway and repairs what diverged: lost, drifted (ports, resources) and leaked services. */
  private async reconcile(): Promise<void> {
    if (!this.started || this.closed) return;
    const { book, ctx } = this;
    const before = new Map(book.records);
    book.forgottenSinceListing.clear();
    // Addresses are re-read by the locations updater in its own flight; deletes wait until it has.
    this.locations.markUncertain();
    this.kick();
    try {
      const listing = await this.withTimeout(
        this.config.locationsTimeoutMs,
        (s) => this.listGateway(s, false),
      );
      if (this.closed) return;
      const repairs = findRepairs(before, book.specs, {
        services: listing.services.map((s) => ({ name: s.name, outbound: s.serviceType === "Outbound" })),
        resources: listing.resources,
      }, this.config.servicePrefix);
      for (const r of repairs) {
        // Whatever changed while the listing ran is newer than the listing.
        if (book.records.get(r.name) !== before.get(r.name) || book.forgottenSinceListing.has(r.name)) {
          continue;
        }
        this.adoption.repair(r, listing.resources);
      }
      ctx.m.reconciles.inc({ status: "success" });
      if (repairs.length > 0) this.kick();
    } catch (err) {
      if (this.closed) return;
      ctx.m.reconciles.inc({ status: "failure" });
      ctx.log.warn("reconciliation with the gateway failed", { error: err });
      this.reconciler.schedule(this.config.reconcileAfterFailureMs);
    }
  }

  /** Stops new work, lets in-flight operations finish within drainTimeoutMs, then aborts what is left. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { clock, log } = this.ctx;
    this.services.close();
    this.locations.close();
    if (this.graceTimer !== undefined) clock.clearTimeout(this.graceTimer);
    this.reconciler.close();
    const pending = () => [
      ...this.services.pending,
      ...(this.locations.inFlight ? [this.locations.inFlight] : []),
      ...(this.reconciler.inFlight ? [this.reconciler.inFlight] : []),
    ];
    const drainAbort = new AbortController();
    const drained = await Promise.race([
      Promise.allSettled(pending()).then(() => true),
      sleep(this.config.drainTimeoutMs, drainAbort.signal, clock).then(() => false, () => false),
    ]);
    drainAbort.abort();
    if (!drained) log.warn("drain timeout; aborting in-flight work", { inFlight: this.services.size });
    this.abort.abort(new Error("azure-servicegateway engine closed"));
    await Promise.allSettled(pending());
  }

  // ---- CloudBackend ----

  onStatus(listener: (key: string, status: BackendStatus) => void): void {
    this.book.onStatus(listener);
  }

  apply(desired: BackendServiceState): void {
    if (this.closed) return;
    this.intake.apply(desired);
    this.kick();
  }

  remove(key: string, uid: string): void {
    if (this.closed) return;
    this.intake.remove(key, uid);
    this.kick();
  }

  // ---- pod egress (outbound through a NAT gateway) ----

  addPod(pod: EgressPod): void {
    this.updatePod(pod);
  }

  updatePod(pod: EgressPod): void {
    if (!this.closed && this.egress.updatePod(pod)) this.kick();
  }

  deletePod(uid: string): void {
    if (!this.closed && this.egress.deletePod(uid)) this.kick();
  }

  /** Level-triggered: the complete set of pods with egress; pods not listed are gone. */
  applyEgress(pods: readonly EgressPod[]): void {
    if (this.closed) return;
    this.egress.applyEgress(pods);
    this.kick();
  }

  egressServiceName(egress: string): string {
    return this.egress.serviceName(egress);
  }

  // ---- updaters ----

  /** Coalesces triggers: many changes in one turn cause one pass of each updater. */
  private kick(): void {
    if (this.kickScheduled || this.closed) return;
    this.kickScheduled = true;
    queueMicrotask(() => {
      this.kickScheduled = false;
      this.services.pump();
      this.locations.pump();
    });
  }

  /** Runs `fn` with a signal that aborts on close or after `ms`: no call outlives its bound. */
  private async withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timeout = new AbortController();
    const id = this.ctx.clock.setTimeout(() => timeout.abort(new Error(`timed out after ${ms}ms`)), ms);
    try {
      return await fn(AbortSignal.any([this.abort.signal, timeout.signal]));
    } finally {
      this.ctx.clock.clearTimeout(id);
    }
  }

  // ---- inspection ----

  /** Whether nothing is in flight or due: every record settled (tests and shutdown use it). */
  get busy(): boolean {
    return this.services.size > 0 || this.locations.inFlight !== undefined;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** JSON for /debug/difftracker/services. */
  debugServices(): Record<string, unknown> {
    return servicesView(this.book, this.locations, { started: this.started, closed: this.closed });
  }

  /** JSON for /debug/difftracker/buffered. */
  debugBuffered(): Record<string, unknown> {
    return bufferedView(this.book, this.ctx.clock.now());
  }
}
