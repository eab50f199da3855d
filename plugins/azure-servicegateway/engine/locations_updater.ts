/**
 * The locations updater: one address sync at a time. It re-reads the gateway's addresses when a write failed
 * (it may have been applied), writes the difference between what the book wants and what the gateway holds,
 * and backs off on failure. Changes arriving during a sync cause one more pass afterwards.
 */
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { TimerHandle } from "../../../mod.ts";
import type { AddressLocation, AddressLocationsRequest } from "../arm/shapes.ts";
import { retryAfterFailure } from "./backoff.ts";
import type { ServiceBook } from "./book.ts";
import type { EngineContext } from "./context.ts";
import {
  applyLocationsRequest,
  diffLocations,
  type LocationMap,
  locationMapJson,
  locationMapOf,
  referencesTo,
  requestReferences,
} from "./locations.ts";

const tracer = trace.getTracer("zen-lead/azure-servicegateway");

export class LocationsUpdater {
  /** What the gateway holds: listed at start, updated by every accepted write, re-read when uncertain. */
  private azure: LocationMap = new Map();
  /** A write failed or timed out: the gateway may or may not hold it, so re-read before diffing or deleting. */
  private isUncertain = true;
  private running: Promise<void> | undefined;
  private request: AddressLocationsRequest | undefined;
  private dirty = false;
  private attempts = 0;
  private notBefore = 0;
  private lastError: string | undefined;
  private timer: TimerHandle | undefined;

  constructor(private readonly ctx: EngineContext, private readonly book: ServiceBook) {}

  /** The start's listing; returns it as a location map. */
  adopt(listing: readonly AddressLocation[]): LocationMap {
    this.azure = locationMapOf(listing);
    this.isUncertain = false;
    return this.azure;
  }

  /** Deletes wait, and the next sync re-reads the gateway first. */
  markUncertain(): void {
    this.isUncertain = true;
  }

  get uncertain(): boolean {
    return this.isUncertain;
  }

  get size(): number {
    return this.azure.size;
  }

  /** Addresses in the gateway, or in the write in flight, that reference `service`. */
  references(service: string): number {
    return referencesTo(this.azure, service) + (requestReferences(this.request, service) ? 1 : 0);
  }

  /** Addresses the gateway is known to hold that reference `service` (debug output). */
  listedReferences(service: string): number {
    return referencesTo(this.azure, service);
  }

  get inFlight(): Promise<void> | undefined {
    return this.running;
  }

  pump(): void {
    const { ctx } = this;
    if (!ctx.running()) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    const now = ctx.clock.now();
    if (now < this.notBefore) {
      if (this.timer === undefined) {
        this.timer = ctx.clock.setTimeout(() => {
          this.timer = undefined;
          ctx.kick();
        }, this.notBefore - now);
      }
      return;
    }
    this.dirty = false;
    const run = tracer.startActiveSpan("servicegateway.syncLocations", (span: Span) => this.sync(span));
    this.running = run.then((changed) => {
      this.running = undefined;
      this.request = undefined;
      // Deletions may be waiting on this sync, and changes may have come in while it ran. A sync that found
      // nothing to do changes nothing either, so it does not trigger another pass (that would spin).
      if (changed || this.dirty) ctx.kick();
    });
  }

  close(): void {
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One sync; true when it changed what the engine knows of the gateway (a write, a failure, a re-read). */
  private async sync(span: Span): Promise<boolean> {
    const { ctx } = this;
    const started = ctx.clock.now();
    let status = "noop";
    let relisted = false;
    try {
      await ctx.withTimeout(ctx.config.locationsTimeoutMs, async (signal) => {
        if (this.isUncertain) {
          this.azure = locationMapOf(await ctx.api.listAddressLocations(signal));
          this.isUncertain = false;
          // A deletion may be waiting for exactly this: the write that removed its last address failed, yet
          // the gateway applied it. The re-read is a change of what we know, so it wakes the service updater.
          relisted = true;
        }
        const diff = diffLocations(this.book.desiredLocations(), this.azure);
        if (!diff) return;
        this.request = diff.request;
        await ctx.api.updateAddressLocations(diff.request, signal);
        this.azure = applyLocationsRequest(this.azure, diff.request);
        status = "success";
        ctx.m.addressesSynced.inc({ action: "add" }, diff.added);
        ctx.m.addressesSynced.inc({ action: "remove" }, diff.removed);
        ctx.m.addressesSynced.inc({ action: "update" }, diff.updated);
        span.setAttributes({ action: diff.request.action, added: diff.added, removed: diff.removed });
        ctx.log.debug("address locations synced", {
          ...diff,
          request: undefined,
          action: diff.request.action,
        });
      });
      this.attempts = 0;
      this.lastError = undefined;
    } catch (err) {
      status = "failure";
      this.isUncertain = true;
      this.attempts++;
      const retry = retryAfterFailure(ctx.config.backoff, this.attempts, ctx.random);
      if (retry.parked) this.attempts = 0;
      this.notBefore = ctx.clock.now() + retry.delayMs;
      this.lastError = err instanceof Error ? err.message : String(err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.lastError });
      ctx.log.warn("address locations sync failed", {
        operation: "syncLocations",
        error: err,
        retryInMs: retry.delayMs,
      });
    } finally {
      if (status !== "noop") {
        ctx.m.locationsSync.inc({ status });
        ctx.m.locationsSyncDuration.observe(undefined, (ctx.clock.now() - started) / 1000);
      }
      span.end();
    }
    return status !== "noop" || relisted;
  }

  /** The `locations` part of /debug/difftracker/services. */
  debug(): Record<string, unknown> {
    const iso = (t: number) => (t > 0 ? new Date(t).toISOString() : undefined);
    return {
      desired: locationMapJson(this.book.desiredLocations()),
      azure: locationMapJson(this.azure),
      inFlight: this.running !== undefined,
      uncertain: this.isUncertain,
      attempts: this.attempts,
      retryAt: iso(this.notBefore),
      lastError: this.lastError,
    };
  }
}
