/**
 * The reconcile of one opted-in Service, level-triggered (it never depends on which event woke it): read the
 * caches into a snapshot, plan (pure), apply the writes, then report what routing did.
 */
import type { Logger } from "../log.ts";
import type { ServiceSettings } from "../leader/service_settings.ts";
import type { LeaderHistory } from "../status/history.ts";
import { traceDecision } from "../tracing/reconcile.ts";
import { REQUEUE_FLOOR_MS } from "../timers.ts";
import { countWrites, type LeaderApi } from "./api.ts";
import { LeaderApply } from "./apply.ts";
import { BackendSync } from "./backend_sync.ts";
import { type Emission, emit } from "./emission.ts";
import type { EventRecorder, EventTarget } from "./events.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { PluginAccess } from "./plugin_access.ts";
import { CONFLICT_RECHECK_MS, nameConflict, planService, type RoutePlan } from "./plan.ts";
import { probeOnDemand, type ProbePort, syncProbeTargets } from "./probing.ts";
import { type GoneSnapshot, type NoSelectorSnapshot, ServiceReader } from "./read.ts";
import { leaderServiceCreated, reportRouting } from "./report.ts";
import { SettingsMemo } from "./settings_memo.ts";
import type { ControllerStores } from "./stores.ts";
import type { TriggerTracker } from "./latency.ts";
import { LeaderWriter, type WriteOverlays } from "./writer.ts";

export interface ReconcilerDeps {
  stores: ControllerStores;
  /** zen-lead's own writes, laid over the caches until the watch shows them. */
  overlay: WriteOverlays;
  api: LeaderApi;
  events: EventRecorder;
  metrics: ControllerMetrics;
  plugins: PluginAccess;
  probes: ProbePort;
  triggers: TriggerTracker;
  logger: Logger;
  /** False once this replica may no longer write (lost its Lease): every write checks it first. */
  canWrite(): boolean;
  now?: () => number;
  /** How long an on-demand probe of a successor may take before the reconcile moves on. */
  probeWaitMs?: number;
  /** `--max-cache-size-per-namespace`: the bound of the parsed-settings memo. */
  maxCacheSizePerNamespace?: number;
  /** Leader changes as they route, for the status endpoint and page. */
  history?: LeaderHistory;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export class Reconciler {
  readonly settingsMemo: SettingsMemo;
  /** Last good settings per Service UID: an invalid annotation keeps these. */
  private readonly lastGood = new Map<string, ServiceSettings>();
  /** Services whose leader slice name a stranger's EndpointSlice holds (not in the slice cache). */
  private readonly sliceConflicts = new Map<string, string>();
  private readonly reader: ServiceReader;
  private readonly apply: LeaderApply;
  private readonly backends: BackendSync;
  private readonly now: () => number;

  constructor(private readonly d: ReconcilerDeps) {
    this.now = d.now ?? Date.now;
    this.settingsMemo = new SettingsMemo(d.maxCacheSizePerNamespace ?? 1000);
    this.reader = new ServiceReader({
      stores: d.stores,
      overlay: d.overlay,
      plugins: d.plugins,
      healthOf: (key, uid) => d.probes.state(key, uid)?.healthy,
      trigger: (key) => d.triggers.peek(key),
      settingsMemo: this.settingsMemo,
      lastGood: (uid) => this.lastGood.get(uid),
      api: d.api,
      now: this.now,
    });
    const writer = new LeaderWriter({
      api: countWrites(d.api, d.metrics.writes),
      overlay: d.overlay,
      canWrite: d.canWrite,
    });
    this.apply = new LeaderApply(writer, this.reader);
    this.backends = new BackendSync((name) => d.plugins.backend(name));
  }

  /** `log` carries the reconcile's own fields (reconcileID) into what this reconcile logs. */
  async reconcile(key: string, log: Logger = this.d.logger): Promise<ReconcileResult> {
    const snapshot = await this.reader.read(key, this.sliceConflicts.get(key));
    if (snapshot.kind === "optedIn") {
      this.lastGood.set(snapshot.uid, snapshot.settings);
      if (snapshot.strangerSlice === false) this.sliceConflicts.delete(key);
    }
    const decideStarted = Date.now();
    let plan = planService(snapshot);
    if (plan.kind === "cleanup") {
      this.emit(plan.target, plan.emission, log);
      await this.cleanup(plan.snapshot);
      this.emit(plan.target, plan.afterwards, log);
      return {};
    }
    if (plan.kind === "nameTaken") {
      this.emit(plan.target, plan.emission, log);
      return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
    }
    this.emit(plan.target, plan.found, log);
    const { settings, pods } = plan.snapshot;
    // A checker with a helper process (gRPC) starts it now, before this Service's first check.
    if (!settings.healthCheck.checker.passive) settings.healthCheck.checker.warm?.();

    const probed = plan.probeFirst.length;
    if (probed > 0) {
      const passed = await probeOnDemand(
        this.d.probes,
        key,
        pods,
        plan.probeFirst,
        settings,
        this.d.probeWaitMs,
      );
      // The same snapshot with fresher health: the name checks come out as before, so it routes again.
      const again = planService(this.reader.afterProbe(plan.snapshot, passed));
      if (again.kind === "route") plan = again;
    }
    traceDecision(settings.strategy, pods.length, plan.decision, decideStarted, probed);
    syncProbeTargets(this.d.probes, key, pods, plan.decision.leaders, settings, this.now());
    this.emit(plan.target, plan.decided, log);
    return await this.route(plan, log);
  }

  /** Applies a route plan: leader Service, the routing slice write and its report, the rest, the backend. */
  private async route(plan: RoutePlan, log: Logger): Promise<ReconcileResult> {
    const { key, leaderName, trigger, currentLeaders } = plan.snapshot;
    const leader = await this.apply.leaderService(
      plan,
      () => this.emit(plan.target, { metrics: [], events: [leaderServiceCreated(plan)], logs: [] }, log),
    );
    const slice = await this.apply.slice(plan, leader);
    if (slice.kind === "nameTaken") {
      this.sliceConflicts.set(key, leaderName);
      this.emit(plan.target, nameConflict(plan.target, slice.objectKind, leaderName), log);
      return { requeueAfterMs: CONFLICT_RECHECK_MS };
    }
    const failedReason = plan.decision.failover === "unhealthy" && currentLeaders[0]
      ? this.d.probes.state(key, currentLeaders[0])?.lastReason
      : undefined;
    this.emit(plan.target, reportRouting(plan, { ...slice, wroteAt: this.now(), failedReason }), log);

    await this.apply.settle(plan, leader);
    await this.backends.apply(key, plan.snapshot.settings.backend, plan.backendState);
    this.d.triggers.clear(key, trigger);
    const { requeueAt } = plan.decision;
    return requeueAt !== undefined
      ? { requeueAfterMs: Math.max(REQUEUE_FLOOR_MS, requeueAt - this.now()) }
      : {};
  }

  /** Removes what zen-lead manages for a Service that opted out, lost its selector, or is gone, and forgets it. */
  private async cleanup(s: GoneSnapshot | NoSelectorSnapshot): Promise<void> {
    const { key, namespace, name } = s;
    this.d.probes.removeService(key);
    await this.backends.remove(key);
    // Read after the backend's await: what the watch showed meanwhile is deleted with the rest.
    await this.apply.removeAll(namespace, this.reader.managed(namespace, name));
    if (s.service?.metadata.uid) this.lastGood.delete(s.service.metadata.uid);
    this.settingsMemo.forget(namespace, name);
    this.d.history?.forget(key);
    this.d.triggers.clear(key);
    this.sliceConflicts.delete(key);
  }

  private emit(target: EventTarget, e: Emission, log: Logger): void {
    emit(target, e, { events: this.d.events, metrics: this.d.metrics, log, history: this.d.history });
  }

  /** The settings the last reconcile of a Service used (invalid annotations keep their last good value). */
  settingsOf(uid: string): ServiceSettings | undefined {
    return this.lastGood.get(uid);
  }

  /** Forgets per-Service memory of a Service UID that no longer exists. */
  forgetService(uid: string): void {
    this.lastGood.delete(uid);
  }
}
