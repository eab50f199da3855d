/**
 * The reconcile of one opted-in Service: read desired and observed state from the caches, decide the leaders,
 * write only the difference. Level-triggered: it never depends on which event woke it.
 */
import type { Logger } from "../log.ts";
import type { EndpointSlice, Node, Pod, Service } from "../kube/types.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/errors.ts";
import type { ProbeScheduler } from "../probing/scheduler.ts";
import type { BackendServiceState, CloudBackend, NodeView } from "../plugin/types.ts";
import { ANN, isOptedIn, LABEL } from "../leader/annotations.ts";
import { decideLeaders, type Decision } from "../leader/decide.ts";
import {
  desiredEndpointSlice,
  desiredLeaderService,
  isManagedFor,
  type LeaderDecision,
  leaderFamily,
  routableEndpoints,
} from "../leader/desired_objects.ts";
import {
  mergeService,
  mergeSlice,
  serviceDrift,
  serviceNeedsRecreate,
  sliceDrift,
} from "../leader/compare.ts";
import { effectiveLeaderName } from "../leader/names.ts";
import { classifyPods, podIPs, selectorMatches, toNodeView, toPodView } from "../leader/pods.ts";
import { resolvePorts } from "../leader/ports.ts";
import {
  parseServiceSettings,
  type ServiceSettings,
  type SettingsContext,
} from "../leader/service_settings.ts";
import type { LeaderApi } from "./api.ts";
import type { EventRecorder, EventTarget } from "./events.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { WriteOverlay } from "./overlay.ts";
import type { LeaderHistory } from "../status/history.ts";
import { SettingsMemo } from "./settings_memo.ts";
import { type ControllerStores, INDEX } from "./stores.ts";
import type { TriggerTracker } from "./latency.ts";
import { traceDecision } from "../tracing/reconcile.ts";
import { inSpan } from "../tracing/spans.ts";
import { REQUEUE_FLOOR_MS, safeTimeout } from "../timers.ts";

/** What the reconciler needs from the plugin kernel. */
export interface PluginAccess {
  settingsContext(): SettingsContext;
  strategy(name: string): import("../plugin/types.ts").LeaderStrategy;
  backend(name: string | undefined): CloudBackend | undefined;
  /** Changes whenever the configuration or the plugins change, so memoised settings are parsed again. */
  generation?(): number;
  /** Every enabled cloud backend (pod hooks, resync, debug). */
  backends?(): CloudBackend[];
}

export interface ReconcilerDeps {
  stores: ControllerStores;
  api: LeaderApi;
  events: EventRecorder;
  metrics: ControllerMetrics;
  plugins: PluginAccess;
  probes: ProbeScheduler;
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

/** An object of the leader's name exists and is not zen-lead's: it is left alone (SPEC: ownership). */
export class LeaderNameConflictError extends Error {
  constructor(readonly kind: string, readonly namespace: string, readonly objectName: string) {
    super(`${kind} ${namespace}/${objectName} exists and is not managed by zen-lead`);
  }
}

export class NotLeaderError extends Error {
  constructor() {
    super("this replica is not the active controller; write refused");
  }
}

/**
 * A write to a managed object got 409 (someone wrote it since the view it was decided from). The key is requeued,
 * and the next reconcile decides again from the cache instead of overwriting what it has not seen.
 */
export class WriteConflictError extends Error {
  constructor(readonly kind: string, readonly key: string, options?: ErrorOptions) {
    super(`${kind} ${key} changed since it was read; requeued to decide again from the cache`, options);
  }
}

/** How often a name held by a stranger's EndpointSlice is looked at again. */
const CONFLICT_RECHECK_MS = 30_000;

function split(key: string): [string, string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}

export class Reconciler {
  readonly services = new WriteOverlay<Service>();
  readonly slices = new WriteOverlay<EndpointSlice>();
  /** Last good settings per Service UID: an invalid annotation keeps these (SPEC). */
  private readonly lastGood = new Map<string, ServiceSettings>();
  readonly settingsMemo: SettingsMemo;
  /** Services whose leader slice name a stranger's EndpointSlice holds (not in the slice cache). */
  private readonly sliceConflicts = new Map<string, string>();
  /** Which backend each Service was last given, to tell it when the Service leaves. */
  private readonly backendOf = new Map<string, { name: string; uid: string }>();
  private readonly now: () => number;

  constructor(private readonly d: ReconcilerDeps) {
    this.now = d.now ?? Date.now;
    this.settingsMemo = new SettingsMemo(d.maxCacheSizePerNamespace ?? 1000);
  }

  private svcView(key: string): Service | undefined {
    return this.services.view(key, this.d.stores.services.get(key));
  }

  private sliceView(key: string): EndpointSlice | undefined {
    return this.slices.view(key, this.d.stores.slices.get(key));
  }

  private guard(): void {
    if (!this.d.canWrite()) throw new NotLeaderError();
  }

  private managedFor(ns: string, source: string) {
    const services = this.d.stores.services.byIndex(INDEX.source, `${ns}/${source}`)
      .map((s) => this.svcView(`${ns}/${s.metadata.name}`))
      .filter((s): s is Service => s !== undefined && isManagedFor(s, source));
    const slices = this.d.stores.slices.byIndex(INDEX.source, `${ns}/${source}`)
      .map((s) => this.sliceView(`${ns}/${s.metadata.name}`))
      .filter((s): s is EndpointSlice => s !== undefined && isManagedFor(s, source));
    return { services, slices };
  }

  /** `log` carries the reconcile's own fields (reconcileID) into what this reconcile logs. */
  async reconcile(key: string, log: Logger = this.d.logger): Promise<ReconcileResult> {
    const [ns, name] = split(key);
    const svc = this.d.stores.services.get(key);
    (svc ? this.d.metrics.cacheHits : this.d.metrics.cacheMisses).inc();
    if (!svc || !isOptedIn(svc.metadata.annotations) || svc.metadata.deletionTimestamp) {
      await this.cleanup(ns, name, svc);
      return {};
    }
    const target: EventTarget = { kind: "Service", namespace: ns, name, uid: svc.metadata.uid };
    const selector = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) {
      this.d.events.record(
        target,
        "Warning",
        "InvalidService",
        `Service ${ns}/${name} is opted in to zen-lead but has no selector; a leader is chosen among the pods a ` +
          `selector matches, so no leader Service is created`,
      );
      await this.cleanup(ns, name, svc);
      return {};
    }

    // Settings: every invalid annotation is reported, and keeps its last good value.
    const uid = svc.metadata.uid ?? "";
    // Memoised per Service version and configuration generation; an eviction only costs a re-parse.
    const { settings, errors } = this.settingsMemo.get(
      ns,
      name,
      `${svc.metadata.resourceVersion}/${this.d.plugins.generation?.() ?? 0}`,
      // The settings context (plugin names, ConfigMap defaults) is built only when a parse is due.
      () =>
        parseServiceSettings(
          svc.metadata.annotations ?? {},
          this.d.plugins.settingsContext(),
          this.lastGood.get(uid),
          svc.spec?.type,
        ),
    );
    for (const e of errors) {
      this.d.metrics.invalidAnnotations.inc({ annotation: e.annotation });
      this.d.events.record(target, "Warning", "InvalidAnnotation", e.message);
    }
    this.lastGood.set(uid, settings);

    const managed = this.managedFor(ns, name);
    const nameChoice = effectiveLeaderName(
      name,
      svc.metadata.annotations ?? {},
      managed.services[0]?.metadata.name,
    );
    const leaderName = nameChoice.name;
    if (nameChoice.error !== undefined) {
      this.d.metrics.invalidAnnotations.inc({ annotation: ANN.leaderServiceName });
      this.d.events.record(target, "Warning", "InvalidAnnotation", nameChoice.error);
    }

    const observedSvc = this.svcView(`${ns}/${leaderName}`);
    const observedSlice = this.sliceView(`${ns}/${leaderName}`);
    for (const [obj, kind] of [[observedSvc, "Service"], [observedSlice, "EndpointSlice"]] as const) {
      if (obj && !isManagedFor(obj, name)) {
        this.nameConflict(target, kind, leaderName);
        return {};
      }
    }

    if (this.sliceConflicts.get(key) === leaderName) {
      // A stranger's slice held this name last time (the slice cache holds only zen-lead's, so ask again).
      const other = await this.d.api.getSlice(ns, leaderName);
      if (!other || isManagedFor(other, name)) this.sliceConflicts.delete(key);
      else {
        this.nameConflict(target, "EndpointSlice", leaderName);
        return { requeueAfterMs: CONFLICT_RECHECK_MS };
      }
    }

    const pods = this.d.stores.pods.byIndex(INDEX.namespace, ns).filter((p) =>
      selectorMatches(selector, p.metadata.labels)
    );
    const currentLeaders = currentLeaderUIDs(observedSlice, observedSvc);
    const seed = observedSvc?.metadata.annotations?.[ANN.seed] ?? crypto.randomUUID().slice(0, 8);
    const nodes = this.nodeViews(pods);
    const strategy = this.d.plugins.strategy(settings.strategy);
    // A checker with a helper process (gRPC) starts it now, before this Service's first check.
    if (!settings.healthCheck.checker.passive) settings.healthCheck.checker.warm?.();
    const now = this.now();

    const decideWith = (extraHealthy: ReadonlySet<string>) =>
      decideLeaders({
        service: { namespace: ns, name, uid, annotations: svc.metadata.annotations ?? {} },
        pods,
        nodes,
        currentLeaders,
        settings,
        strategy,
        health: (podUID) => extraHealthy.has(podUID) ? true : this.d.probes.state(key, podUID)?.healthy,
        seed,
        now,
      });
    const decideStarted = Date.now();
    let decision = decideWith(new Set());
    let probedOnDemand = 0;
    if (decision.unprobed.length > 0 && decision.leaders.length < settings.count) {
      // A successor is needed and some candidates were never probed: probe them now rather than wait a cadence.
      probedOnDemand = decision.unprobed.length;
      decision = decideWith(await this.probeOnDemand(key, pods, decision.unprobed, settings));
    }
    traceDecision(settings.strategy, pods.length, decision, decideStarted, probedOnDemand);
    this.syncProbes(key, pods, decision, settings);
    for (const e of decision.priorityErrors) {
      this.d.events.record(target, "Warning", "InvalidAnnotation", `pod ${e.pod}: ${e.message}`);
    }

    const primary = decision.leaders[0];
    const ports = primary ? resolvePorts(svc.spec?.ports ?? [], primary) : undefined;
    if (ports) {
      for (const f of ports.failures) {
        this.d.metrics.portFailures.inc({
          namespace: ns,
          service: name,
          type: f.named ? "named" : "numeric",
        });
        this.d.events.record(
          target,
          "Warning",
          f.named ? "NamedPortResolutionFailed" : "PortResolutionFailed",
          f.message,
        );
      }
      if (ports.failures.length > 0) {
        this.d.events.record(
          target,
          "Warning",
          "PortResolutionFailed",
          `leader pod ${primary.metadata.name} cannot serve every port of Service ${name}; the leader routes ` +
            `nowhere until it can (fail-closed)`,
        );
      }
    }

    const trigger = this.d.triggers.peek(key);
    const leaderDecision: LeaderDecision = {
      leaders: decision.leaders,
      ports,
      triggeredAt: trigger?.at ?? now,
      seed,
    };
    const desiredSvc = desiredLeaderService(svc, leaderName, leaderDecision, observedSvc, now);

    // The leader Service first when it is missing: the slice's ownerReference needs its real UID (defect 10).
    let leaderSvc = observedSvc;
    let created = false;
    if (!leaderSvc) {
      leaderSvc = await this.createService(ns, desiredSvc);
      created = true;
      this.d.events.record(
        target,
        "Normal",
        "LeaderServiceCreated",
        `created leader Service ${ns}/${leaderName} for Service ${name}`,
      );
    } else if (serviceNeedsRecreate(desiredSvc, leaderSvc)) {
      await this.deleteService(ns, leaderSvc);
      leaderSvc = await this.createService(ns, desiredSvc);
    }
    if (!leaderSvc.metadata.uid) leaderSvc = await this.freshService(ns, leaderName);

    const family = leaderFamily(leaderDecision, leaderSvc) ?? "IPv4";
    const endpoints = routableEndpoints(
      leaderDecision,
      family,
      (pod) => resolvePorts(svc.spec?.ports ?? [], pod),
    );
    const desiredSl = desiredEndpointSlice(name, leaderSvc, endpoints, leaderDecision, family);
    let sliceWritten: boolean;
    try {
      sliceWritten = await this.writeSlice(ns, desiredSl, this.sliceView(`${ns}/${leaderName}`));
    } catch (e) {
      if (!(e instanceof LeaderNameConflictError)) throw e;
      // Undo the leader Service this reconcile made for a name that turned out to be taken.
      if (created) await this.deleteService(ns, leaderSvc);
      this.sliceConflicts.set(key, leaderName);
      this.nameConflict(target, e.kind, leaderName);
      return { requeueAfterMs: CONFLICT_RECHECK_MS };
    }
    const wroteAt = this.now();
    // Routing moved with the slice write: metrics and Events say so now, before the Service update that
    // follows (a failure there is retried, and the retry, seeing the new leader routed, would not count it).
    const failedCheck = decision.failover === "unhealthy"
      ? this.failedCheck(key, currentLeaders[0], pods, settings)
      : undefined;
    this.report(
      target,
      settings,
      decision,
      currentLeaders,
      endpoints.length,
      sliceWritten,
      trigger,
      wroteAt,
      log,
      failedCheck,
    );

    if (decision.reason && sliceWritten) {
      this.d.history?.record({
        service: key,
        at: new Date(wroteAt).toISOString(),
        from: pods.find((p) => p.metadata.uid === currentLeaders[0])?.metadata.name ?? currentLeaders[0],
        to: decision.leaders[0]?.metadata.name,
        reason: decision.reason,
        failover: decision.failover !== undefined,
        latencyMs: trigger ? wroteAt - trigger.at : undefined,
      });
    }

    if (!created) {
      const current = this.svcView(`${ns}/${leaderName}`) ?? leaderSvc;
      if (serviceDrift(desiredSvc, current)) await this.replaceService(ns, mergeService(desiredSvc, current));
    }

    // Objects of an earlier leader name (a rename) go once the new ones route.
    for (const old of managed.services) {
      if (old.metadata.name !== leaderName) await this.deleteService(ns, old);
    }
    for (const old of managed.slices) {
      if (old.metadata.name !== leaderName) await this.deleteSlice(ns, old);
    }

    await this.syncBackend(key, svc, settings, decision, ports?.targets ?? [], nodes);
    this.d.triggers.clear(key, trigger);

    if (decision.requeueAt !== undefined) {
      return { requeueAfterMs: Math.max(REQUEUE_FLOOR_MS, decision.requeueAt - this.now()) };
    }
    return {};
  }

  private report(
    target: EventTarget,
    settings: ServiceSettings,
    decision: Decision,
    previous: readonly string[],
    routed: number,
    sliceWritten: boolean,
    trigger: { at: number } | undefined,
    wroteAt: number,
    log: Logger,
    failedCheck?: string,
  ): void {
    const m = this.d.metrics;
    const labels = { namespace: target.namespace, service: target.name };
    const primary = decision.leaders[0];
    m.podsAvailable.set(labels, decision.eligibleCount);
    m.withoutEndpoints.set(labels, routed === 0 ? 1 : 0);
    m.leaderStable.set(labels, primary && !decision.primaryChanged ? 1 : 0);
    if (settings.sticky && previous.length > 0) {
      if (primary && previous[0] === primary.metadata.uid) m.stickyHits.inc();
      else m.stickyMisses.inc();
    }
    if (decision.reason) m.leaderChanges.inc({ reason: decision.reason });
    if (decision.primaryChanged && primary) m.selections.inc({ strategy: settings.strategy });
    if (decision.failover) {
      m.failovers.inc({ ...labels, reason: decision.failover });
      if (sliceWritten && trigger) {
        m.failoverLatency.observe({ reason: decision.failover }, (wroteAt - trigger.at) / 1000);
      }
    }
    if (decision.primaryChanged && primary && previous.length > 0) {
      this.d.events.record(
        target,
        "Normal",
        "LeaderChanged",
        `leader of ${target.name} is now pod ${primary.metadata.name} (${
          podIPs(primary)[0]
        }); reason: ${decision.reason}${failedCheck ? ` (${failedCheck})` : ""}`,
      );
    }
    // Routing became available (again): the first leader, or one after a spell of endpoints: [].
    if (routed > 0 && sliceWritten && previous.length === 0) {
      this.d.events.record(
        target,
        "Normal",
        "LeaderRoutingAvailable",
        `leader Service routes to pod ${primary?.metadata.name}`,
      );
    }
    if (decision.noPods) {
      this.d.events.record(
        target,
        "Warning",
        "NoPodsFound",
        `no pods match the selector of Service ${target.name}`,
      );
    } else if (decision.leaders.length === 0 && decision.noneEligible && decision.warmingCount > 0) {
      // Not "no pod is Ready": they are, and wait out min-ready-duration. Say when the first qualifies.
      const n = decision.warmingCount;
      this.d.events.record(
        target,
        "Warning",
        "NoReadyPods",
        `${n} pod${n === 1 ? " is" : "s are"} Ready and qualif${n === 1 ? "ies" : "y"} at ${
          new Date(decision.requeueAt ?? this.now()).toISOString()
        } (${ANN.minReadyDuration} ${
          settings.minReadyMs / 1000
        }s); no leader for Service ${target.name} until then`,
      );
    } else if (decision.leaders.length === 0) {
      const why = decision.allUnhealthy
        ? `every candidate failed its health check (fail-mode ${settings.failMode})`
        : decision.noneEligible
        ? "none of the selected pods is Running, Ready, with an IP and not terminating"
        : "no pod qualifies yet";
      this.d.events.record(target, "Warning", "NoReadyPods", `no leader for Service ${target.name}: ${why}`);
    }
    if (decision.failover) {
      log.info("failover", {
        namespace: target.namespace,
        service: target.name,
        reason: decision.failover,
        pod: primary?.metadata.name,
        latencyMs: trigger ? wroteAt - trigger.at : undefined,
      });
    }
  }

  /** Names the check that failed the old leader over, for the LeaderChanged event: "http check of pod a: HTTP 500". */
  private failedCheck(
    key: string,
    uid: string | undefined,
    pods: readonly Pod[],
    settings: ServiceSettings,
  ): string | undefined {
    if (!uid) return undefined;
    const name = pods.find((p) => p.metadata.uid === uid)?.metadata.name ?? uid;
    const why = this.d.probes.state(key, uid)?.lastReason;
    return `${settings.healthCheck.type} check of pod ${name} failed${why ? `: ${why}` : ""}`;
  }

  /** The leader's name belongs to an object zen-lead does not manage: say so, write nothing (SPEC). */
  private nameConflict(target: EventTarget, kind: string, leaderName: string): void {
    this.d.metrics.nameConflicts.inc();
    this.d.events.record(
      target,
      "Warning",
      "LeaderNameConflict",
      `${kind} ${target.namespace}/${leaderName} exists and is not managed by zen-lead for Service ${target.name}; ` +
        `it is left untouched. Rename it, or set ${ANN.leaderServiceName} to a free name`,
    );
  }

  private nodeViews(pods: readonly Pod[]): Map<string, NodeView> {
    const out = new Map<string, NodeView>();
    const nodes = this.d.stores.nodes;
    if (!nodes) return out;
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (!n || out.has(n)) continue;
      // Informer keys are `namespace/name`; a cluster-scoped Node's namespace is empty.
      const node: Node | undefined = nodes.get(`/${n}`);
      if (node) out.set(n, toNodeView(node));
    }
    return out;
  }

  /** Probes never-probed candidates at once, bounded by the probe timeout; returns those that passed. */
  private async probeOnDemand(
    key: string,
    pods: readonly Pod[],
    uids: readonly string[],
    settings: ServiceSettings,
  ): Promise<Set<string>> {
    const hc = settings.healthCheck;
    const byUID = new Map(pods.map((p) => [p.metadata.uid ?? "", p]));
    for (const u of uids) {
      const pod = byUID.get(u);
      if (!pod) continue;
      this.d.probes.upsert({
        podUID: u,
        serviceKey: key,
        role: "candidate",
        pod: toPodView(pod),
        checker: hc.checker,
        spec: hc.spec,
        schedule: hc.schedule,
        type: hc.type,
      });
    }
    const wait = this.d.probeWaitMs ?? hc.schedule.timeoutMs + 250;
    const passed = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(uids.map((u) =>
        inSpan("probe", {
          "k8s.pod.name": byUID.get(u)?.metadata.name,
          "k8s.pod.uid": u,
          "zen_lead.health_check": hc.type,
        }, async (span) => {
          try {
            const healthy = (await this.d.probes.probeNow(key, u)).healthy;
            span.setAttribute("zen_lead.probe.healthy", healthy);
            if (healthy) passed.add(u);
          } catch (e) {
            // An error is a failed probe.
            span.setAttribute("zen_lead.probe.healthy", false);
            span.setAttribute("zen_lead.probe.error", String((e as Error)?.message ?? e));
          }
        })
      )),
      new Promise<void>((r) => timer = safeTimeout(r, wait)),
    ]);
    clearTimeout(timer);
    return passed;
  }

  /** Keeps the probe scheduler's targets equal to this Service's eligible pods, leaders with the leader cadence. */
  private syncProbes(key: string, pods: readonly Pod[], decision: Decision, settings: ServiceSettings): void {
    const hc = settings.healthCheck;
    if (hc.checker.passive) {
      this.d.probes.removeService(key);
      return;
    }
    const leaders = new Set(decision.leaders.map((p) => p.metadata.uid));
    const eligible = classifyPods(pods, this.now(), 0).eligible;
    const keep = new Set<string>();
    for (const pod of eligible) {
      const u = pod.metadata.uid ?? "";
      keep.add(u);
      this.d.probes.upsert({
        podUID: u,
        serviceKey: key,
        role: leaders.has(u) ? "leader" : "candidate",
        pod: toPodView(pod),
        checker: hc.checker,
        spec: hc.spec,
        schedule: hc.schedule,
        type: hc.type,
      });
    }
    for (const pod of pods) {
      const u = pod.metadata.uid ?? "";
      if (!keep.has(u)) this.d.probes.remove(u, key);
    }
  }

  private async syncBackend(
    key: string,
    svc: Service,
    settings: ServiceSettings,
    decision: Decision,
    targets: readonly number[],
    nodes: ReadonlyMap<string, NodeView>,
  ): Promise<void> {
    const uid = svc.metadata.uid ?? "";
    const prev = this.backendOf.get(key);
    if (prev && prev.name !== settings.backend) {
      await this.d.plugins.backend(prev.name)?.remove(key, prev.uid);
      this.backendOf.delete(key);
    }
    if (!settings.backend) return;
    const backend = this.d.plugins.backend(settings.backend);
    if (!backend) return;
    const state: BackendServiceState = {
      key,
      uid,
      ports: (svc.spec?.ports ?? []).map((p, i) => ({
        name: p.name,
        port: p.port,
        targetPort: targets[i] || (typeof p.targetPort === "number" ? p.targetPort : p.port),
        protocol: p.protocol ?? "TCP",
      })),
      leaders: decision.leaders.map((p) => ({
        podName: p.metadata.name ?? "",
        podUID: p.metadata.uid ?? "",
        podIP: p.status?.podIP ?? "",
        nodeName: p.spec?.nodeName,
        nodeIP: p.spec?.nodeName ? nodes.get(p.spec.nodeName)?.internalIP : undefined,
      })),
    };
    await backend.apply(state);
    this.backendOf.set(key, { name: settings.backend, uid });
  }

  /** Removes what zen-lead manages for a Service that opted out, lost its selector, or is gone. */
  private async cleanup(ns: string, name: string, svc: Service | undefined): Promise<void> {
    const key = `${ns}/${name}`;
    this.d.probes.removeService(key);
    const prev = this.backendOf.get(key);
    if (prev) {
      await this.d.plugins.backend(prev.name)?.remove(key, prev.uid);
      this.backendOf.delete(key);
    }
    const managed = this.managedFor(ns, name);
    for (const s of managed.slices) await this.deleteSlice(ns, s);
    for (const s of managed.services) await this.deleteService(ns, s);
    if (svc?.metadata.uid) this.lastGood.delete(svc.metadata.uid);
    this.settingsMemo.forget(ns, name);
    this.d.history?.forget(key);
    this.d.triggers.clear(key);
    this.sliceConflicts.delete(key);
    const labels = { namespace: ns, service: name };
    this.d.metrics.leaderStable.remove(labels);
    this.d.metrics.podsAvailable.remove(labels);
    this.d.metrics.withoutEndpoints.remove(labels);
  }

  // ---- writes: each checks that this replica may write, and records what it wrote in the overlay ----

  private async createService(ns: string, desired: Service): Promise<Service> {
    this.guard();
    const out = await this.d.api.createService(ns, desired);
    this.d.metrics.writes.inc({ kind: "Service", verb: "create" });
    this.services.remember(`${ns}/${desired.metadata.name}`, out);
    return out;
  }

  private async replaceService(ns: string, obj: Service): Promise<void> {
    this.guard();
    const key = `${ns}/${obj.metadata.name}`;
    try {
      this.services.remember(key, await this.d.api.replaceService(ns, obj));
    } catch (e) {
      if (!isConflict(e)) throw e;
      this.services.forget(key);
      throw new WriteConflictError("Service", key, { cause: e });
    }
    this.d.metrics.writes.inc({ kind: "Service", verb: "update" });
  }

  private async freshService(ns: string, name: string): Promise<Service> {
    const s = await this.d.api.getService(ns, name);
    if (!s?.metadata.uid) throw new Error(`leader Service ${ns}/${name} has no UID after it was written`);
    this.services.remember(`${ns}/${name}`, s);
    return s;
  }

  private async deleteService(ns: string, obj: Service): Promise<void> {
    this.guard();
    try {
      await this.d.api.deleteService(
        ns,
        obj.metadata.name ?? "",
        obj.metadata.uid ?? "",
        obj.metadata.resourceVersion,
      );
      this.d.metrics.writes.inc({ kind: "Service", verb: "delete" });
    } catch (e) {
      if (isConflict(e)) {
        // Changed since the view this delete was decided from (or replaced by another object): decide again.
        this.services.forget(`${ns}/${obj.metadata.name}`);
        throw new WriteConflictError("Service", `${ns}/${obj.metadata.name}`, { cause: e });
      }
      if (!isNotFound(e)) throw e;
    }
    this.services.remember(`${ns}/${obj.metadata.name}`, null, obj.metadata.resourceVersion);
  }

  private async deleteSlice(ns: string, obj: EndpointSlice): Promise<void> {
    this.guard();
    try {
      await this.d.api.deleteSlice(
        ns,
        obj.metadata.name ?? "",
        obj.metadata.uid ?? "",
        obj.metadata.resourceVersion,
      );
      this.d.metrics.writes.inc({ kind: "EndpointSlice", verb: "delete" });
    } catch (e) {
      if (isConflict(e)) {
        this.slices.forget(`${ns}/${obj.metadata.name}`);
        throw new WriteConflictError("EndpointSlice", `${ns}/${obj.metadata.name}`, { cause: e });
      }
      if (!isNotFound(e)) throw e;
    }
    this.slices.remember(`${ns}/${obj.metadata.name}`, null, obj.metadata.resourceVersion);
  }

  /** Creates, replaces or re-creates (address type is immutable) the slice; true when it wrote. */
  private async writeSlice(
    ns: string,
    desired: EndpointSlice,
    observed: EndpointSlice | undefined,
  ): Promise<boolean> {
    const key = `${ns}/${desired.metadata.name}`;
    if (observed && observed.addressType !== desired.addressType) {
      await this.deleteSlice(ns, observed);
      observed = undefined;
    }
    if (observed && !sliceDrift(desired, observed)) return false;
    this.guard();
    if (!observed) {
      try {
        this.slices.remember(key, await this.d.api.createSlice(ns, desired));
        this.d.metrics.writes.inc({ kind: "EndpointSlice", verb: "create" });
        return true;
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const fresh = await this.d.api.getSlice(ns, desired.metadata.name ?? "");
        if (!fresh) throw e;
        // The slice cache holds only zen-lead's slices: a stranger's slice of this name shows up only here.
        const source = desired.metadata.labels?.[LABEL.sourceService] ?? "";
        if (!isManagedFor(fresh, source)) {
          throw new LeaderNameConflictError("EndpointSlice", ns, desired.metadata.name ?? "");
        }
        // Ours, made by a write this view has not seen: decide again over it rather than overwrite it now.
        this.slices.remember(key, fresh);
        throw new WriteConflictError("EndpointSlice", key, { cause: e });
      }
    }
    try {
      this.slices.remember(key, await this.d.api.replaceSlice(ns, mergeSlice(desired, observed)));
    } catch (e) {
      if (!isConflict(e)) throw e;
      this.slices.forget(key);
      throw new WriteConflictError("EndpointSlice", key, { cause: e });
    }
    this.d.metrics.writes.inc({ kind: "EndpointSlice", verb: "update" });
    return true;
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

/** Who routes now: the slice's endpoint targetRefs (SPEC: matched by UID), else the leader Service's annotation. */
export function currentLeaderUIDs(slice: EndpointSlice | undefined, svc: Service | undefined): string[] {
  const fromSlice = (slice?.endpoints ?? []).map((e) => e.targetRef?.uid).filter((u): u is string => !!u);
  if (slice) return fromSlice;
  const uid = svc?.metadata.annotations?.[ANN.leaderPodUID];
  return uid ? [uid] : [];
}

export { LABEL };
