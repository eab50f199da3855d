/**
 * Guards for the engine's invariants while a sequence runs over the real HTTP stack: a GatewayApi wrapper that
 * sees every operation the engine starts, and a clock that counts the timers left running.
 */
import type * as gateway from "../../plugins/azure-servicegateway/arm/gateway_api.ts";
import type * as arm from "../../plugins/azure-servicegateway/arm/shapes.ts";
import type { Clock, TimerHandle } from "../../core/time/clock.ts";

/**
 * One operation per service at a time; at most `maxInFlight` service operations; one address write at a
 * time; no call once the engine's close() has returned.
 */
export class GuardedApi implements gateway.GatewayApi {
  readonly violations: string[] = [];
  private readonly perService = new Map<string, number>();
  private inFlight = 0;
  private addressWrites = 0;
  private closed = false;
  /** Highest number of service operations seen in flight at once. */
  peakInFlight = 0;

  constructor(private readonly inner: gateway.GatewayApi, private readonly maxInFlight: number) {}

  /** From now on any call is a violation. */
  markClosed(): void {
    this.closed = true;
  }

  private check(what: string): void {
    if (this.closed) this.violations.push(`${what} called after close() returned`);
  }

  private async operation<T>(service: string, what: string, run: () => Promise<T>): Promise<T> {
    this.check(what);
    const n = (this.perService.get(service) ?? 0) + 1;
    this.perService.set(service, n);
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    if (n > 1) this.violations.push(`${n} operations at once on ${service} (${what})`);
    if (this.inFlight > this.maxInFlight) {
      this.violations.push(`${this.inFlight} operations in flight, maxInFlight ${this.maxInFlight}`);
    }
    try {
      return await run();
    } finally {
      this.inFlight--;
      this.perService.set(service, this.perService.get(service)! - 1);
    }
  }

  ensureGateway(signal: AbortSignal): Promise<void> {
    this.check("ensureGateway");
    return this.inner.ensureGateway(signal);
  }
  listServices(signal: AbortSignal): Promise<arm.GatewayService[]> {
    this.check("listServices");
    return this.inner.listServices(signal);
  }
  listAddressLocations(signal: AbortSignal): Promise<arm.AddressLocation[]> {
    this.check("listAddressLocations");
    return this.inner.listAddressLocations(signal);
  }
  listOwnedResources(signal: AbortSignal): Promise<gateway.OwnedResources[]> {
    this.check("listOwnedResources");
    return this.inner.listOwnedResources(signal);
  }
  ensureService(spec: gateway.ServiceSpec, signal: AbortSignal): Promise<{ frontendIP?: string }> {
    return this.operation(spec.name, "ensureService", () => this.inner.ensureService(spec, signal));
  }
  deleteService(name: string, kind: gateway.ServiceSpec["kind"], signal: AbortSignal): Promise<void> {
    return this.operation(name, "deleteService", () => this.inner.deleteService(name, kind, signal));
  }
  async updateAddressLocations(request: arm.AddressLocationsRequest, signal: AbortSignal): Promise<void> {
    this.check("updateAddressLocations");
    if (++this.addressWrites > 1) this.violations.push(`${this.addressWrites} address writes at once`);
    try {
      await this.inner.updateAddressLocations(request, signal);
    } finally {
      this.addressWrites--;
    }
  }
}

/** The system clock, counting the timers set through it that have neither fired nor been cleared. */
export class CountingClock implements Clock {
  private readonly live = new Set<ReturnType<typeof setTimeout>>();
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = setTimeout(() => {
      this.live.delete(id);
      fn();
    }, Math.max(0, ms));
    this.live.add(id);
    return id;
  }
  clearTimeout(id: TimerHandle): void {
    clearTimeout(id as ReturnType<typeof setTimeout>);
    this.live.delete(id as ReturnType<typeof setTimeout>);
  }
  get pending(): number {
    return this.live.size;
  }
}
