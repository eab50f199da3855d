/**
 * The engine's book of services: one record per gateway service (its state machine), what Kubernetes wants of
 * it (spec and memberships), the memberships buffered until it exists, and the status reported to the
 * controller. Every record change goes through `put`, which carries out what the transition implies.
 */
import type { BackendStatus } from "../../../mod.ts";
import type { ServiceSpec } from "../arm/gateway_api.ts";
import type { EngineContext } from "./context.ts";
import { desiredLocations, type LocationMap } from "./locations.ts";
import { applyChanges, type MembershipChange, membershipChanges } from "./membership.ts";
import { stateLabel } from "./metrics.ts";
import { isDisposable, isLive, SERVICE_STATES, type ServiceRecord } from "./service_state.ts";

export interface BufferedChange extends MembershipChange {
  source: "endpoint" | "pod";
  at: number;
}

export type StatusListener = (key: string, status: BackendStatus) => void;

export class ServiceBook {
  readonly records = new Map<string, ServiceRecord>();
  readonly specs = new Map<string, ServiceSpec>();
  readonly keyByName = new Map<string, string>();
  readonly nameByKey = new Map<string, string>();
  /** Kubernetes' latest word per service. */
  readonly latest = new Map<string, Map<string, string>>();
  /** What the differ may send: memberships of services that exist in the gateway. */
  readonly active = new Map<string, Map<string, string>>();
  readonly buffers = new Map<string, BufferedChange[]>();
  /** Services whose Kubernetes status may hold a frontend IP (reported, or there before this engine started). */
  readonly published = new Set<string>();
  /** Services forgotten since the reconciliation listing began: the listing may still show them. */
  readonly forgottenSinceListing = new Set<string>();
  /** The frontend IP last reported per service. */
  private readonly reported = new Map<string, string>();
  private readonly listeners: StatusListener[] = [];

  constructor(private readonly ctx: EngineContext) {}

  onStatus(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  /** Stores a record's next version and carries out what its transition implies. */
  put(name: string, next: ServiceRecord | undefined): void {
    const prev = this.records.get(name);
    if (next === undefined || isDisposable(next)) {
      this.records.delete(name);
      this.forget(name, prev);
    } else {
      this.records.set(name, next);
      const wasLive = prev !== undefined && isLive(prev);
      if (!wasLive && isLive(next)) this.replayBuffer(name);
      if (next.state === "DeletionPending" || (wasLive && !isLive(next))) this.retire(name);
      const key = this.keyByName.get(name);
      // Compared with what was reported, not with the previous record: a create that finished while the
      // Service was removed keeps its IP in the record, and the create after the re-add must still report it.
      if (
        key && next.wantPresent && isLive(next) && next.frontendIP &&
        next.frontendIP !== this.reported.get(name)
      ) {
        this.reported.set(name, next.frontendIP);
        this.published.add(name);
        this.emit(key, { ingress: [{ ip: next.frontendIP }] });
      }
    }
    this.updateGauge();
    this.ctx.kick();
  }

  private forget(name: string, prev: ServiceRecord | undefined): void {
    this.active.delete(name);
    this.buffers.delete(name);
    if (!this.latest.has(name)) this.specs.delete(name);
    const key = this.keyByName.get(name);
    this.keyByName.delete(name);
    this.forgottenSinceListing.add(name);
    // Adopted records have no frontend IP, yet the Service's status may hold the one the last process wrote.
    const mayHaveStatus = this.published.delete(name) || prev?.frontendIP !== undefined;
    this.reported.delete(name);
    if (key && mayHaveStatus && this.nameByKey.get(key) === undefined) this.emit(key, { ingress: [] });
  }

  emit(key: string, status: BackendStatus): void {
    for (const l of this.listeners) {
      try {
        l(key, status);
      } catch (err) {
        this.ctx.log.error("status listener failed", { key, error: err });
      }
    }
  }

  updateGauge(): void {
    const counts = new Map<string, number>(SERVICE_STATES.map((s) => [s, 0]));
    for (const r of this.records.values()) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    for (const [s, n] of counts) {
      this.ctx.m.pending.set({ state: stateLabel(s as ServiceRecord["state"]) }, n);
    }
  }

  uidOf(name: string): string {
    return name.slice(this.ctx.config.servicePrefix.length);
  }

  /** The location map Azure should hold: the active memberships of the services that exist in the gateway. */
  desiredLocations(): LocationMap {
    return desiredLocations(this.active, (s) => {
      const r = this.records.get(s);
      return r !== undefined && isLive(r);
    });
  }

  // ---- memberships and buffering ----

  setMembership(name: string, next: Map<string, string>, source: BufferedChange["source"]): void {
    const prev = this.latest.get(name) ?? new Map<string, string>();
    const changes = membershipChanges(prev, next);
    if (next.size === 0) this.latest.delete(name);
    else this.latest.set(name, next);
    if (changes.length === 0) return;
    const rec = this.records.get(name);
    if (rec && isLive(rec)) {
      applyChanges(this.activeOf(name), changes);
      return;
    }
    const now = this.ctx.clock.now();
    let buf = this.buffers.get(name) ?? [];
    buf.push(...changes.map((c) => ({ ...c, source, at: now })));
    (source === "endpoint" ? this.ctx.m.bufferedEndpoints : this.ctx.m.bufferedPods).inc(
      undefined,
      changes.length,
    );
    if (buf.length > this.ctx.config.maxBufferedPerService) {
      // A service stuck before creation must not grow memory without bound: keep the net effect, in order.
      const net = membershipChanges(this.active.get(name) ?? new Map(), this.latest.get(name) ?? new Map());
      buf = net.map((c) => ({ ...c, source, at: buf[0].at }));
    }
    this.buffers.set(name, buf);
  }

  private activeOf(name: string): Map<string, string> {
    let a = this.active.get(name);
    if (!a) this.active.set(name, a = new Map());
    return a;
  }

  private replayBuffer(name: string): void {
    const buf = this.buffers.get(name);
    this.buffers.delete(name);
    if (!buf || buf.length === 0) return;
    const now = this.ctx.clock.now();
    applyChanges(this.activeOf(name), buf);
    for (const c of buf) this.ctx.m.bufferDuration.observe(undefined, (now - c.at) / 1000);
    this.ctx.log.info("replayed buffered changes", {
      service: name,
      serviceUID: this.uidOf(name),
      changes: buf.length,
    });
  }

  /** The service leaves the gateway: its addresses go, and what Kubernetes still wants waits in the buffer. */
  private retire(name: string): void {
    this.active.delete(name);
    const latest = this.latest.get(name);
    if (!latest || latest.size === 0) {
      this.buffers.delete(name);
      return;
    }
    const now = this.ctx.clock.now();
    const source = this.records.get(name)?.kind === "outbound" ? "pod" : "endpoint";
    this.buffers.set(name, membershipChanges(new Map(), latest).map((c) => ({ ...c, source, at: now })));
  }
}
