/**
 * Reconciliation with the gateway: what a fresh listing says must be repaired in the engine's records (pure),
 * and the timer that runs it periodically and soon after any write whose outcome is unknown. Addresses are
 * repaired by the locations updater itself, which re-reads them when marked uncertain.
 */
import { type OwnedResources, portsKey, type ServiceSpec } from "../arm/gateway_api.ts";
import type { Clock, TimerHandle } from "../../../mod.ts";
import { isLive, type ServiceKind, type ServiceRecord } from "./service_state.ts";

export interface GatewayListing {
  services: readonly { name: string; outbound: boolean }[];
  resources: readonly OwnedResources[];
}

export type Repair =
  /** The record says Created, the gateway does not list it: register it again. */
  | { kind: "lost"; name: string }
  /** Its resources are missing or its load balancer's ports differ from the spec: apply the spec again. */
  | { kind: "drifted"; name: string }
  /** The gateway or the resource group has it, the engine has no record: an orphan to delete. */
  | { kind: "leaked"; name: string; serviceKind: ServiceKind; registered: boolean };

/** Compares records with a listing; records with an operation in flight are left alone. */
export function findRepairs(
  records: ReadonlyMap<string, ServiceRecord>,
  specs: ReadonlyMap<string, ServiceSpec>,
  listing: GatewayListing,
  prefix: string,
): Repair[] {
  const out: Repair[] = [];
  const listed = new Map(listing.services.filter((s) => s.name.startsWith(prefix)).map((s) => [s.name, s]));
  const owned = new Map(listing.resources.filter((r) => r.name.startsWith(prefix)).map((r) => [r.name, r]));
  for (const rec of records.values()) {
    if (rec.token !== undefined || !isLive(rec)) continue;
    if (rec.registered && !listed.has(rec.name)) {
      out.push({ kind: "lost", name: rec.name });
      continue;
    }
    // Already due for an update, or adopted and unclaimed (its spec is unknown): nothing to compare against.
    if (!rec.wantPresent || rec.appliedVersion !== rec.specVersion) continue;
    const res = owned.get(rec.name);
    const spec = specs.get(rec.name);
    const wrongPorts = spec?.kind === "inbound" && res?.portsKey !== undefined &&
      res.portsKey !== portsKey(spec.ports);
    if (!res || !res.publicIP || !res.frontend || wrongPorts) out.push({ kind: "drifted", name: rec.name });
  }
  for (const s of listed.values()) {
    if (!records.has(s.name)) {
      out.push({
        kind: "leaked",
        name: s.name,
        serviceKind: s.outbound ? "outbound" : "inbound",
        registered: true,
      });
    }
  }
  for (const r of owned.values()) {
    if (!records.has(r.name) && !listed.has(r.name)) {
      out.push({ kind: "leaked", name: r.name, serviceKind: r.kind, registered: false });
    }
  }
  return out;
}

/**
 * One reconciliation at a time, at the earliest moment asked for; a request while one runs makes it run once
 * more afterwards. `intervalMs` 0 disables the periodic run (requests after uncertain writes still count).
 */
export class ReconcileSchedule {
  private timer: { id: TimerHandle; at: number } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly run: () => Promise<void>,
  ) {}

  /** Runs in `ms` unless a run is already due sooner. */
  schedule(ms: number): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const at = this.clock.now() + ms;
    if (this.timer && this.timer.at <= at) return;
    if (this.timer) this.clock.clearTimeout(this.timer.id);
    this.timer = { id: this.clock.setTimeout(() => this.fire(), ms), at };
  }

  private fire(): void {
    this.timer = undefined;
    if (this.closed) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.schedule(0);
      } else if (this.intervalMs > 0) this.schedule(this.intervalMs);
    });
  }

  /** The run in progress, if any (close() waits for it within its drain bound). */
  get inFlight(): Promise<void> | undefined {
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer.id);
    this.timer = undefined;
  }
}
