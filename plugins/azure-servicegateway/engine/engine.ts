/**
 * The difftracker engine: keeps a service gateway in step with Kubernetes. Kubernetes-side state (services,
 * their leader pods, egress pods) comes in through apply/remove and the pod hooks; Azure-side state is what the
 * gateway listed at start plus every write it accepted since. A service updater (bounded concurrency) runs each
 * service's state machine; a single-flight locations updater writes the difference of addresses.
 */
import { isIP } from "node:net";
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { BackendServiceState, BackendStatus, CloudBackend } from "../../../core/plugin/types.ts";
import type { Logger } from "../../../core/log.ts";
import { failureOf } from "../arm/errors.ts";
import type { GatewayApi, ServiceSpec } from "../arm/gateway_api.ts";
import type { AddressLocationsRequest } from "../arm/shapes.ts";
import { sleep } from "../arm/throttle.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF, retryAfterFailure } from "./backoff.ts";
import type { Clock, TimerId } from "./clock.ts";
import {
  applyLocationsRequest,
  desiredLocations,
  diffLocations,
  type LocationMap,
  locationMapJson,
  locationMapOf,
  referencesTo,
  requestReferences,
} from "./locations.ts";
import { applyChanges, type MembershipChange, membershipChanges } from "./membership.ts";
import type { EngineMetrics } from "./metrics.ts";
import { stateLabel } from "./metrics.ts";
import { findRepairs, ReconcileSchedule, type Repair } from "./reconcile.ts";
import {
  adoptedRecord,
  begin,
  type Completion,
  desire,
  drifted,
  fail,
  isDisposable,
  isLive,
  lost,
  newRecord,
  nextAction,
  type OperationKind,
  SERVICE_STATES,
  type ServiceKind,
  type ServiceRecord,
  succeed,
} from "./service_state.ts";

export interface EngineConfig {
  /** Gateway services whose name starts with this belong to the engine; others are never touched. */
  servicePrefix: string;
  /** Service operations in flight at once. */
  maxInFlight: number;
  backoff: BackoffPolicy;
  /** After start, how long services found in the gateway wait to be claimed before they count as orphans. */
  orphanGraceMs: number;
  /** Bound on one service operation (all its ARM calls). */
  operationTimeoutMs: number;
  /** Bound on one address locations sync. */
  locationsTimeoutMs: number;
  /** How long close() lets in-flight work finish before aborting it. */
  drainTimeoutMs: number;
  /** Buffered changes per service beyond which the buffer is compacted to its net effect. */
  maxBufferedPerService: number;
  /** Period of the reconciliation with the gateway (lost, leaked, drifted services; addresses); 0: none. */
  reconcileIntervalMs: number;
  /** How soon after a service write with an unknown outcome (no answer, 5xx) the gateway is reconciled. */
  reconcileAfterFailureMs: number;
}

export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  servicePrefix: "zl-",
  maxInFlight: 10,
  backoff: DEFAULT_BACKOFF,
  orphanGraceMs: 60_000,
  operationTimeoutMs: 300_000,
  locationsTimeoutMs: 120_000,
  drainTimeoutMs: 10_000,
  maxBufferedPerService: 1_000,
  reconcileIntervalMs: 300_000,
  reconcileAfterFailureMs: 5_000,
};

/** A pod as the egress hooks see it: the egress it asks for (from its label) and where it runs. */
export interface EgressPod {
  uid: string;
  ip?: string;
  nodeIP?: string;
  /** Egress name; undefined when the pod uses none. */
  egress?: string;
}

export interface EngineDeps {
  api: GatewayApi;
  clock: Clock;
  logger: Logger;
  metrics: EngineMetrics;
  random?: () => number;
  config?: Partial<EngineConfig>;
}

interface BufferedChange extends MembershipChange {
  source: "endpoint" | "pod";
  at: number;
}

type StatusListener = (key: string, status: BackendStatus) => void;

const EGRESS_NAME = /^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$/;
const tracer = trace.getTracer("zen-lead/azure-servicegateway");

export class ServiceGatewayEngine implements CloudBackend {
  readonly config: EngineConfig;
  private readonly api: GatewayApi;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly m: EngineMetrics;
  private readonly random: () => number;

  private readonly records = new Map<string, ServiceRecord>();
  private readonly specs = new Map<string, ServiceSpec>();
  private readonly keyByName = new Map<string, string>();
  private readonly nameByKey = new Map<string, string>();
  /** Kubernetes' latest word per service. */
  private readonly latest = new Map<string, Map<string, string>>();
  /** What the differ may send: memberships of services that exist in the gateway. */
  private readonly active = new Map<string, Map<string, string>>();
  private readonly buffers = new Map<string, BufferedChange[]>();
  private readonly egressPods = new Map<string, EgressPod>();
  private azure: LocationMap = new Map();
  /** A locations write failed or timed out: the gateway may or may not hold it, so relist before diffing. */
  private azureUncertain = true;

  private readonly listeners: StatusListener[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private tokens = 0;
  private started = false;
  private closed = false;
  private kickScheduled = false;
  private readonly abort = new AbortController();
  private serviceTimer: { id: TimerId; at: number } | undefined;
  private locationsTimer: TimerId | undefined;
  private graceTimer: TimerId | undefined;

  private locRunning: Promise<void> | undefined;
  private locRequest: AddressLocationsRequest | undefined;
  private locDirty = false;
  private locAttempts = 0;
  private locNotBefore = 0;
  private locLastError: string | undefined;
  private startPromise: Promise<void> | undefined;
  private readonly reconciler: ReconcileSchedule;
  /** Services whose Kubernetes status may hold a frontend IP (emitted, or there before this engine started). */
  private readonly published = new Set<string>();
  /** The frontend IP last reported per service. */
  private readonly reported = new Map<string, string>();
  /** Services forgotten since the reconciliation listing began: the listing may still show them. */
  private readonly forgottenSinceListing = new Set<string>();
  private orphansReleased = false;

  constructor(deps: EngineDeps) {
    this.api = deps.api;
    this.clock = deps.clock;
    this.log = deps.logger;
    this.m = deps.metrics;
    this.random = deps.random ?? Math.random;
    this.config = { ...DEFAULT_ENGINE_CONFIG, ...deps.config };
    this.reconciler = new ReconcileSchedule(
      this.clock,
      this.config.reconcileIntervalMs,
      () => this.reconcile(),
    );
  }

  // ---- lifecycle ----

  /** Lists the gateway and reconciles; retries with backoff until it succeeds or the engine closes. */
  start(): Promise<void> {
    this.startPromise ??= this.runStart();
    return this.startPromise;
  }

  private async runStart(): Promise<void> {
    // The attempt count follows the backoff policy: after parking, a fresh series starts (1 s, 2 s, ...).
    let attempts = 0;
    while (!this.closed) {
      try {
        await this.withTimeout(this.config.operationTimeoutMs, async (signal) => {
          await this.api.ensureGateway(signal);
          const listing = await this.listGateway(signal);
          if (this.closed) return;
          this.adopt(
            listing.services.map((s) => ({ name: s.name, outbound: s.serviceType === "Outbound" })),
            listing.locations,
          );
          this.adoptLeftovers(listing.resources);
          this.learnKeys(listing.resources);
        });
        if (this.closed) return;
        this.started = true;
        this.graceTimer = this.clock.setTimer(() => this.releaseOrphans(), this.config.orphanGraceMs);
        if (this.config.reconcileIntervalMs > 0) this.reconciler.schedule(this.config.reconcileIntervalMs);
        this.log.info("engine started", { services: this.records.size, locations: this.azure.size });
        this.kick();
        return;
      } catch (err) {
        if (this.closed) return;
        const retry = retryAfterFailure(this.config.backoff, attempts + 1, this.random);
        attempts = retry.attempts;
        this.log.warn("engine start failed; retrying", {
          error: err,
          attempt: attempts || this.config.backoff.parkAfterAttempts,
          parked: retry.parked,
          retryInMs: retry.delayMs,
        });
        try {
          await sleep(this.clock, retry.delayMs, this.abort.signal);
        } catch {
          return;
        }
      }
    }
  }

  /** The gateway's services, addresses and tagged resources; when one list fails the others are aborted. */
  private async listGateway(signal: AbortSignal, withLocations = true) {
    const sibling = new AbortController();
    const both = AbortSignal.any([signal, sibling.signal]);
    const failFast = <T>(p: Promise<T>) =>
      p.catch((err) => {
        sibling.abort(err);
        throw err;
      });
    const [services, locations, resources] = await Promise.all([
      failFast(this.api.listServices(both)),
      withLocations ? failFast(this.api.listAddressLocations(both)) : Promise.resolve([]),
      failFast(this.api.listOwnedResources(both)),
    ]);
    return { services, locations, resources };
  }

  private adopt(
    services: readonly { name: string; outbound: boolean }[],
    listing: Parameters<typeof locationMapOf>[0],
  ): void {
    const now = this.clock.now();
    this.azure = locationMapOf(listing);
    this.azureUncertain = false;
    const listed = new Map<string, Map<string, string>>();
    for (const [node, loc] of this.azure) {
      for (const [podIP, svcs] of loc) {
        for (const s of svcs) {
          if (!listed.has(s)) listed.set(s, new Map());
          listed.get(s)!.set(podIP, node);
        }
      }
    }
    for (const s of services) {
      if (!s.name.startsWith(this.config.servicePrefix)) {
        this.log.info("leaving a service the engine does not own", { service: s.name });
        continue;
      }
      const kind: ServiceKind = s.outbound ? "outbound" : "inbound";
      const existing = this.records.get(s.name);
      if (existing) {
        // Claimed by Kubernetes before the listing came back: it exists, re-apply its spec idempotently.
        this.published.add(s.name);
        this.put(s.name, {
          ...existing,
          state: "Created",
          mayExist: true,
          registered: true,
          appliedVersion: -1,
          since: now,
        });
        continue;
      }
      if (kind === "outbound") this.specs.set(s.name, { kind, name: s.name });
      this.records.set(s.name, adoptedRecord(s.name, kind, now));
      // Until claimed, keep its addresses as they are: a restart must not blink traffic.
      this.active.set(s.name, listed.get(s.name) ?? new Map());
    }
    this.updateGauge();
  }

  /** Resources of services never registered (a create cut short): claimed ones are created, others deleted. */
  private adoptLeftovers(resources: readonly { name: string; kind: ServiceKind }[]): void {
    const now = this.clock.now();
    for (const r of resources) {
      if (!r.name.startsWith(this.config.servicePrefix)) continue;
      const existing = this.records.get(r.name);
      if (existing) {
        if (!existing.mayExist) this.records.set(r.name, { ...existing, mayExist: true });
        continue;
      }
      if (r.kind === "outbound") this.specs.set(r.name, { kind: "outbound", name: r.name });
      this.records.set(r.name, { ...newRecord(r.name, r.kind, now), mayExist: true, adopted: true });
    }
    this.updateGauge();
  }

  /**
   * Which Kubernetes Service an unclaimed gateway service belonged to, from its resources' tags: if it goes as
   * an orphan (the Service opted out while no engine ran), that Service's status is cleared.
   */
  private learnKeys(resources: readonly { name: string; key?: string }[], only?: string): void {
    for (const r of resources) {
      if (!r.key || (only !== undefined && r.name !== only) || this.keyByName.has(r.name)) continue;
      if (!this.records.get(r.name)?.adopted) continue;
      this.keyByName.set(r.name, r.key);
      this.published.add(r.name);
    }
  }

  /** The controller has re-applied every Service after a start: unclaimed adopted services are orphans now. */
  resyncDone(): void {
    if (this.graceTimer !== undefined) this.clock.clearTimer(this.graceTimer);
    this.graceTimer = undefined;
    if (this.started) this.releaseOrphans();
    else this.config.orphanGraceMs = 0;
  }

  private releaseOrphans(): void {
    this.graceTimer = undefined;
    this.orphansReleased = true;
    for (const rec of [...this.records.values()]) {
      if (!rec.adopted) continue;
      this.log.info("deleting orphaned gateway service", {
        service: rec.name,
        serviceUID: this.uidOf(rec.name),
      });
      this.active.delete(rec.name);
      this.put(rec.name, desire(rec, false, false, this.clock.now()));
    }
    this.kick();
  }

  /** Stops new work, lets in-flight operations finish within drainTimeoutMs, then aborts what is left. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.serviceTimer) this.clock.clearTimer(this.serviceTimer.id);
    if (this.locationsTimer !== undefined) this.clock.clearTimer(this.locationsTimer);
    if (this.graceTimer !== undefined) this.clock.clearTimer(this.graceTimer);
    this.reconciler.close();
    const pending = () => [
      ...this.inflight,
      ...(this.locRunning ? [this.locRunning] : []),
      ...(this.reconciler.inFlight ? [this.reconciler.inFlight] : []),
    ];
    const drainAbort = new AbortController();
    const drained = await Promise.race([
      Promise.allSettled(pending()).then(() => true),
      sleep(this.clock, this.config.drainTimeoutMs, drainAbort.signal).then(() => false, () => false),
    ]);
    drainAbort.abort();
    if (!drained) this.log.warn("drain timeout; aborting in-flight work", { inFlight: this.inflight.size });
    this.abort.abort(new Error("azure-servicegateway engine closed"));
    await Promise.allSettled(pending());
  }

  // ---- CloudBackend ----

  onStatus(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  apply(desired: BackendServiceState): void {
    if (this.closed) return;
    if (!desired.key || !desired.uid) {
      this.log.warn("apply ignored: desired state needs key and uid", { key: desired.key, uid: desired.uid });
      return;
    }
    const name = this.config.servicePrefix + desired.uid;
    const previous = this.nameByKey.get(desired.key);
    // The same key with a new UID is a recreated Service: the old one's gateway service goes.
    if (previous !== undefined && previous !== name) this.removeName(previous);
    this.nameByKey.set(desired.key, name);
    this.keyByName.set(name, desired.key);

    const now = this.clock.now();
    const rec = this.records.get(name) ?? newRecord(name, "inbound", now);
    const spec: ServiceSpec = {
      kind: "inbound",
      name,
      key: desired.key,
      ports: desired.ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort,
        protocol: p.protocol,
      })),
    };
    const old = this.specs.get(name);
    const specChanged = !old || JSON.stringify(old) !== JSON.stringify(spec);
    this.specs.set(name, spec);
    if (rec.adopted) {
      this.active.set(name, new Map()); // claimed: Kubernetes' leaders replace what was listed
      this.published.add(name); // the previous process may have written its frontend IP to the Service
    }
    this.put(name, desire(rec, true, specChanged, now));

    const members = new Map<string, string>();
    for (const l of desired.leaders) {
      if (!isIP(l.podIP) || !l.nodeIP || !isIP(l.nodeIP)) {
        this.log.warn("leader not routable through the gateway: needs a pod IP and a node IP", {
          key: desired.key,
          pod: l.podName,
          podIP: l.podIP,
          nodeIP: l.nodeIP,
        });
        continue;
      }
      members.set(l.podIP, l.nodeIP);
    }
    this.setMembership(name, members, "endpoint");
    this.kick();
  }

  remove(key: string, uid: string): void {
    if (this.closed) return;
    const name = this.config.servicePrefix + uid;
    if (this.nameByKey.get(key) === name) this.nameByKey.delete(key);
    this.removeName(name);
    this.kick();
  }

  private removeName(name: string): void {
    const rec = this.records.get(name);
    if (!rec) return;
    this.setMembership(name, new Map(), "endpoint");
    this.put(name, desire(rec, false, false, this.clock.now()));
  }

  // ---- pod egress (outbound through a NAT gateway) ----

  addPod(pod: EgressPod): void {
    this.updatePod(pod);
  }

  updatePod(pod: EgressPod): void {
    if (this.closed) return;
    const before = this.egressPods.get(pod.uid)?.egress;
    if (pod.egress !== undefined && !EGRESS_NAME.test(pod.egress)) {
      this.log.warn("pod egress ignored: egress name must be a DNS label of at most 50 characters", {
        podUID: pod.uid,
        egress: pod.egress,
      });
      pod = { ...pod, egress: undefined };
    }
    if (pod.egress && pod.ip && pod.nodeIP && isIP(pod.ip) && isIP(pod.nodeIP)) {
      this.egressPods.set(pod.uid, pod);
    } else this.egressPods.delete(pod.uid);
    // The controller reports every pod change; most pods ask for no egress and need no work.
    if (!before && !pod.egress) return;
    for (const e of new Set([before, pod.egress])) if (e) this.recomputeEgress(e);
    this.kick();
  }

  deletePod(uid: string): void {
    if (this.closed) return;
    const before = this.egressPods.get(uid);
    if (!before) return;
    this.egressPods.delete(uid);
    if (before.egress) this.recomputeEgress(before.egress);
    this.kick();
  }

  /** Level-triggered: the complete set of pods with egress; pods not listed are gone. */
  applyEgress(pods: readonly EgressPod[]): void {
    if (this.closed) return;
    const seen = new Set(pods.map((p) => p.uid));
    for (const uid of [...this.egressPods.keys()]) if (!seen.has(uid)) this.deletePod(uid);
    for (const p of pods) this.updatePod(p);
  }

  egressServiceName(egress: string): string {
    return `${this.config.servicePrefix}egress-${egress}`;
  }

  private recomputeEgress(egress: string): void {
    const name = this.egressServiceName(egress);
    const members = new Map<string, string>();
    for (const p of this.egressPods.values()) if (p.egress === egress) members.set(p.ip!, p.nodeIP!);
    const now = this.clock.now();
    const existing = this.records.get(name);
    if (!existing && members.size === 0) return;
    const rec = existing ?? newRecord(name, "outbound", now);
    this.specs.set(name, { kind: "outbound", name });
    if (members.size > 0) {
      if (rec.adopted) this.active.set(name, new Map());
      this.put(name, desire(rec, true, false, now));
      this.setMembership(name, members, "pod");
    } else {
      // The last egress pod is gone: its address goes first, then the service once nothing references it.
      this.setMembership(name, members, "pod");
      this.put(name, desire(this.records.get(name)!, false, false, now));
    }
  }

  // ---- memberships and buffering ----

  private setMembership(name: string, next: Map<string, string>, source: BufferedChange["source"]): void {
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
    const now = this.clock.now();
    let buf = this.buffers.get(name) ?? [];
    buf.push(...changes.map((c) => ({ ...c, source, at: now })));
    (source === "endpoint" ? this.m.bufferedEndpoints : this.m.bufferedPods).inc(undefined, changes.length);
    if (buf.length > this.config.maxBufferedPerService) {
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
    const now = this.clock.now();
    applyChanges(this.activeOf(name), buf);
    for (const c of buf) this.m.bufferDuration.observe(undefined, (now - c.at) / 1000);
    this.log.info("replayed buffered changes", {
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
    const now = this.clock.now();
    const source = this.records.get(name)?.kind === "outbound" ? "pod" : "endpoint";
    this.buffers.set(name, membershipChanges(new Map(), latest).map((c) => ({ ...c, source, at: now })));
  }

  // ---- records ----

  /** Stores a record's next version and carries out what its transition implies. */
  private put(name: string, next: ServiceRecord | undefined): void {
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
    this.kickLocations();
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

  private emit(key: string, status: BackendStatus): void {
    for (const l of this.listeners) {
      try {
        l(key, status);
      } catch (err) {
        this.log.error("status listener failed", { key, error: err });
      }
    }
  }

  private updateGauge(): void {
    const counts = new Map<string, number>(SERVICE_STATES.map((s) => [s, 0]));
    for (const r of this.records.values()) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    for (const [s, n] of counts) this.m.pending.set({ state: stateLabel(s as ServiceRecord["state"]) }, n);
  }

  private uidOf(name: string): string {
    return name.slice(this.config.servicePrefix.length);
  }

  // ---- updaters ----

  /** Coalesces triggers: many changes in one turn cause one pass of each updater. */
  private kick(): void {
    if (this.kickScheduled || this.closed) return;
    this.kickScheduled = true;
    queueMicrotask(() => {
      this.kickScheduled = false;
      this.pumpServices();
      this.pumpLocations();
    });
  }

  private kickLocations(): void {
    this.kick();
  }

  private pumpServices(): void {
    if (!this.started || this.closed) return;
    const now = this.clock.now();
    let wakeAt = Infinity;
    for (const rec of [...this.records.values()].sort((a, b) => a.notBefore - b.notBefore)) {
      if (this.inflight.size >= this.config.maxInFlight) break;
      const refs = referencesTo(this.azure, rec.name) +
        (requestReferences(this.locRequest, rec.name) ? 1 : 0);
      const op = nextAction(rec, { now, azureReferences: refs, addressesUncertain: this.azureUncertain });
      if (op) this.startOperation(rec, op);
      else if (rec.token === undefined && rec.notBefore > now) wakeAt = Math.min(wakeAt, rec.notBefore);
    }
    this.scheduleServices(wakeAt);
  }

  private scheduleServices(at: number): void {
    if (at === Infinity || (this.serviceTimer && this.serviceTimer.at <= at)) return;
    if (this.serviceTimer) this.clock.clearTimer(this.serviceTimer.id);
    const id = this.clock.setTimer(() => {
      this.serviceTimer = undefined;
      this.kick();
    }, at - this.clock.now());
    this.serviceTimer = { id, at };
  }

  private startOperation(rec: ServiceRecord, op: OperationKind): void {
    const token = ++this.tokens;
    const started = this.clock.now();
    if (rec.attempts > 0) this.m.retries.inc({ operation: op });
    this.put(rec.name, begin(rec, op, token, started));
    const spec = this.specs.get(rec.name) ?? { kind: rec.kind, name: rec.name, ports: [] } as ServiceSpec;
    const fields = {
      service: rec.name,
      serviceUID: this.uidOf(rec.name),
      operation: op,
      attempt: rec.attempts + 1,
    };
    this.log.info("service operation started", { ...fields, state: this.records.get(rec.name)?.state });
    const run = tracer.startActiveSpan(`servicegateway.${op}`, { attributes: fields }, async (span: Span) => {
      try {
        const result: { frontendIP?: string } = await this.withTimeout(
          this.config.operationTimeoutMs,
          (signal) =>
            op === "delete"
              ? this.api.deleteService(rec.name, rec.kind, signal).then(() => ({}))
              : this.api.ensureService(spec, signal),
        );
        this.complete(rec.name, token, op, started, { ok: true, frontendIP: result.frontendIP }, span);
      } catch (err) {
        span.recordException(err instanceof Error ? err : String(err));
        this.complete(rec.name, token, op, started, { ok: false, err }, span);
      } finally {
        span.end();
      }
    });
    const tracked = run.finally(() => {
      this.inflight.delete(tracked);
      this.kick();
    });
    this.inflight.add(tracked);
  }

  private complete(
    name: string,
    token: number,
    op: OperationKind,
    started: number,
    outcome: { ok: true; frontendIP?: string } | { ok: false; err: unknown },
    span: Span,
  ): void {
    const rec = this.records.get(name);
    const now = this.clock.now();
    const durationSeconds = (now - started) / 1000;
    const fields = { service: name, serviceUID: this.uidOf(name), operation: op, duration: durationSeconds };
    this.m.operationDuration.observe({ operation: op }, durationSeconds);
    this.m.operations.inc({ operation: op, status: outcome.ok ? "success" : "failure" });
    if (!rec) {
      this.log.warn("completion for an unknown service ignored", fields);
      return;
    }
    let c: Completion & { parked?: boolean };
    const failure = outcome.ok ? undefined : failureOf(outcome.err);
    if (outcome.ok) c = succeed(rec, token, { frontendIP: outcome.frontendIP }, now);
    else c = fail(rec, token, failure!, now, this.config.backoff, this.random);
    if (c.stale) {
      this.log.info("stale completion ignored", { ...fields, token, current: rec.token });
      return;
    }
    // The write may have landed although it failed: compare with the gateway soon, not in minutes.
    if (failure?.uncertain) this.reconciler.schedule(this.config.reconcileAfterFailureMs);
    if (failure && c.parked) this.reportParked(name, op, failure);
    span.setStatus({ code: outcome.ok ? SpanStatusCode.OK : SpanStatusCode.ERROR });
    this.put(name, c.record);
    const state = c.record?.state ?? "Deleted";
    if (outcome.ok) this.log.info("service operation succeeded", { ...fields, state });
    else {
      this.log.warn("service operation failed", {
        ...fields,
        state,
        error: outcome.err,
        terminal: c.record?.terminalError !== undefined,
        parked: c.parked,
        retryAt: c.record && c.record.notBefore > now
          ? new Date(c.record.notBefore).toISOString()
          : undefined,
      });
    }
  }

  /** A parked operation is visible: a metric, a Warning Event on the Service, the debug endpoint's `parked`. */
  private reportParked(
    name: string,
    op: OperationKind,
    failure: { message: string; terminal: boolean },
  ): void {
    const reason = failure.terminal ? "rejected" : "attempts";
    this.m.parked.inc({ operation: op, reason });
    const retryAt = new Date(this.clock.now() + this.config.backoff.parkMs).toISOString();
    const why = failure.terminal
      ? "ARM refused the request"
      : `${this.config.backoff.parkAfterAttempts} attempts failed`;
    this.log.error("service operation parked", {
      service: name,
      operation: op,
      reason,
      retryAt,
      error: failure.message,
    });
    const key = this.keyByName.get(name);
    if (!key) return;
    this.emit(key, {
      ingress: [],
      warning: {
        reason: "ServiceGatewayOperationParked",
        message: `Azure service gateway ${op} of ${name} parked until ${retryAt}: ${why}: ${failure.message}`,
      },
    });
  }

  // ---- reconciliation with the gateway ----

  /** Lists the gateway and repairs what diverged: lost, drifted (ports, resources) and leaked services. */
  private async reconcile(): Promise<void> {
    if (!this.started || this.closed) return;
    const before = new Map(this.records);
    this.forgottenSinceListing.clear();
    // Addresses are re-read by the locations updater in its own flight; deletes wait until it has.
    this.azureUncertain = true;
    this.kick();
    try {
      const listing = await this.withTimeout(
        this.config.locationsTimeoutMs,
        (signal) => this.listGateway(signal, false),
      );
      if (this.closed) return;
      const repairs = findRepairs(before, this.specs, {
        services: listing.services.map((s) => ({ name: s.name, outbound: s.serviceType === "Outbound" })),
        resources: listing.resources,
      }, this.config.servicePrefix);
      for (const r of repairs) {
        // Whatever changed while the listing ran is newer than the listing.
        if (this.records.get(r.name) !== before.get(r.name) || this.forgottenSinceListing.has(r.name)) {
          continue;
        }
        this.repair(r);
        if (r.kind === "leaked") this.learnKeys(listing.resources, r.name);
      }
      this.m.reconciles.inc({ status: "success" });
      if (repairs.length > 0) this.kick();
    } catch (err) {
      if (this.closed) return;
      this.m.reconciles.inc({ status: "failure" });
      this.log.warn("reconciliation with the gateway failed", { error: err });
      this.reconciler.schedule(this.config.reconcileAfterFailureMs);
    }
  }

  private repair(r: Repair): void {
    const now = this.clock.now();
    this.m.repairs.inc({ kind: r.kind });
    this.log.warn("gateway diverged from the engine; repairing", { service: r.name, repair: r.kind });
    const rec = this.records.get(r.name);
    if (r.kind === "lost" && rec) return this.put(r.name, lost(rec, now));
    if (r.kind === "drifted" && rec) return this.put(r.name, drifted(rec));
    if (r.kind !== "leaked") return;
    if (r.serviceKind === "outbound") this.specs.set(r.name, { kind: "outbound", name: r.name });
    const orphan = r.registered
      ? adoptedRecord(r.name, r.serviceKind, now)
      : { ...newRecord(r.name, r.serviceKind, now), mayExist: true, adopted: true };
    this.records.set(r.name, orphan);
    if (this.orphansReleased) this.put(r.name, desire(orphan, false, false, now));
    else this.updateGauge(); // before the resync it may still be claimed, like the services listed at start
  }

  private pumpLocations(): void {
    if (!this.started || this.closed) return;
    if (this.locRunning) {
      this.locDirty = true;
      return;
    }
    const now = this.clock.now();
    if (now < this.locNotBefore) {
      if (this.locationsTimer === undefined) {
        this.locationsTimer = this.clock.setTimer(() => {
          this.locationsTimer = undefined;
          this.kick();
        }, this.locNotBefore - now);
      }
      return;
    }
    this.locDirty = false;
    const run = tracer.startActiveSpan(
      "servicegateway.syncLocations",
      (span: Span) => this.syncLocations(span),
    );
    this.locRunning = run.then((wrote) => {
      this.locRunning = undefined;
      this.locRequest = undefined;
      // Deletions may be waiting on this sync, and changes may have come in while it ran. A sync that found
      // nothing to do changes nothing either, so it does not trigger another pass (that would spin).
      if (wrote || this.locDirty) this.kick();
    });
  }

  /** One sync; true when it changed what the engine knows of the gateway (a write, a failure, a re-read). */
  private async syncLocations(span: Span): Promise<boolean> {
    const started = this.clock.now();
    let status = "noop";
    let relisted = false;
    try {
      await this.withTimeout(this.config.locationsTimeoutMs, async (signal) => {
        if (this.azureUncertain) {
          this.azure = locationMapOf(await this.api.listAddressLocations(signal));
          this.azureUncertain = false;
          // A deletion may be waiting for exactly this: the write that removed its last address failed, yet
          // the gateway applied it. The re-read is a change of what we know, so it wakes the service updater.
          relisted = true;
        }
        const desired = desiredLocations(this.active, (s) => {
          const r = this.records.get(s);
          return r !== undefined && isLive(r);
        });
        const diff = diffLocations(desired, this.azure);
        if (!diff) return;
        this.locRequest = diff.request;
        await this.api.updateAddressLocations(diff.request, signal);
        this.azure = applyLocationsRequest(this.azure, diff.request);
        status = "success";
        this.m.addressesSynced.inc({ action: "add" }, diff.added);
        this.m.addressesSynced.inc({ action: "remove" }, diff.removed);
        this.m.addressesSynced.inc({ action: "update" }, diff.updated);
        span.setAttributes({ action: diff.request.action, added: diff.added, removed: diff.removed });
        this.log.debug("address locations synced", {
          ...diff,
          request: undefined,
          action: diff.request.action,
        });
      });
      this.locAttempts = 0;
      this.locLastError = undefined;
    } catch (err) {
      status = "failure";
      this.azureUncertain = true;
      this.locAttempts++;
      const retry = retryAfterFailure(this.config.backoff, this.locAttempts, this.random);
      if (retry.parked) this.locAttempts = 0;
      this.locNotBefore = this.clock.now() + retry.delayMs;
      this.locLastError = err instanceof Error ? err.message : String(err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.locLastError });
      this.log.warn("address locations sync failed", {
        operation: "syncLocations",
        error: err,
        retryInMs: retry.delayMs,
      });
    } finally {
      if (status !== "noop") {
        this.m.locationsSync.inc({ status });
        this.m.locationsSyncDuration.observe(undefined, (this.clock.now() - started) / 1000);
      }
      span.end();
    }
    return status !== "noop" || relisted;
  }

  /** Runs `fn` with a signal that aborts on close or after `ms`: no call outlives its bound. */
  private async withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timeout = new AbortController();
    const id = this.clock.setTimer(() => timeout.abort(new Error(`timed out after ${ms}ms`)), ms);
    try {
      return await fn(AbortSignal.any([this.abort.signal, timeout.signal]));
    } finally {
      this.clock.clearTimer(id);
    }
  }

  // ---- inspection ----

  /** Whether nothing is in flight or due: every record settled (tests and shutdown use it). */
  get busy(): boolean {
    return this.inflight.size > 0 || this.locRunning !== undefined;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** JSON for /debug/difftracker/services. */
  debugServices(): Record<string, unknown> {
    const iso = (t: number) => (t > 0 ? new Date(t).toISOString() : undefined);
    const desired = desiredLocations(this.active, (s) => {
      const r = this.records.get(s);
      return r !== undefined && isLive(r);
    });
    return {
      started: this.started,
      closed: this.closed,
      services: [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => ({
        name: r.name,
        key: this.keyByName.get(r.name),
        kind: r.kind,
        state: r.state,
        wantPresent: r.wantPresent,
        adopted: r.adopted,
        inFlight: r.token !== undefined,
        specVersion: r.specVersion,
        appliedVersion: r.appliedVersion,
        attempts: r.attempts,
        retryAt: iso(r.notBefore),
        parked: r.parked,
        terminalError: r.terminalError,
        lastError: r.lastError,
        frontendIP: r.frontendIP,
        since: iso(r.since),
        azureReferences: referencesTo(this.azure, r.name),
        pods: Object.fromEntries(this.latest.get(r.name) ?? []),
      })),
      locations: {
        desired: locationMapJson(desired),
        azure: locationMapJson(this.azure),
        inFlight: this.locRunning !== undefined,
        uncertain: this.azureUncertain,
        attempts: this.locAttempts,
        retryAt: iso(this.locNotBefore),
        lastError: this.locLastError,
      },
    };
  }

  /** JSON for /debug/difftracker/buffered. */
  debugBuffered(): Record<string, unknown> {
    const now = this.clock.now();
    const services: Record<string, unknown[]> = {};
    let total = 0;
    for (const [name, buf] of [...this.buffers].sort(([a], [b]) => a.localeCompare(b))) {
      total += buf.length;
      services[name] = buf.map((c) => ({
        source: c.source,
        op: c.op,
        podIP: c.podIP,
        nodeIP: c.nodeIP,
        bufferedAt: new Date(c.at).toISOString(),
        ageSeconds: (now - c.at) / 1000,
      }));
    }
    return { total, services };
  }
}
