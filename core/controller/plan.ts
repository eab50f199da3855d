/**
 * The plan step of a reconcile, pure: from a snapshot, the leader decision, the desired leader objects, and the
 * Events and metrics to emit. Unit-tested without a cluster.
 */
import type { EndpointSlice, Service } from "../kube/types.ts";
import type { BackendServiceState } from "../plugin/types.ts";
import { ANN } from "../leader/annotations.ts";
import { decideLeaders, type Decision } from "../leader/decide.ts";
import {
  desiredEndpointSlice,
  desiredLeaderService,
  isManagedFor,
  type LeaderDecision,
  leaderFamily,
  routableEndpoints,
} from "../leader/desired_objects.ts";
import { type ResolvedPorts, resolvePorts } from "../leader/ports.ts";
import { concatEmissions, type Emission, emptyEmission } from "./emission.ts";
import type { EventTarget } from "./events.ts";
import type { GoneSnapshot, NoSelectorSnapshot, ServiceSnapshot, Snapshot } from "./read.ts";

/** How often a name held by a stranger's EndpointSlice is looked at again. */
export const CONFLICT_RECHECK_MS = 30_000;

/** Remove what zen-lead made for the Service: it is gone, opted out, or has no selector. */
export interface CleanupPlan {
  kind: "cleanup";
  target: EventTarget;
  snapshot: GoneSnapshot | NoSelectorSnapshot;
  /** Emitted before the deletes. */
  emission: Emission;
  /** Emitted once the deletes are done: the Service's metric series go. */
  afterwards: Emission;
}

/** The leader's name belongs to an object zen-lead does not manage: nothing is written. */
export interface NameTakenPlan {
  kind: "nameTaken";
  target: EventTarget;
  emission: Emission;
  requeueAfterMs?: number;
}

export interface RoutePlan {
  kind: "route";
  target: EventTarget;
  snapshot: ServiceSnapshot;
  /** What the read found (cache hit, invalid annotations): emitted before any probe. */
  found: Emission;
  decision: Decision;
  /** Never-probed candidates a successor is needed from: probe them now rather than wait a cadence. */
  probeFirst: readonly string[];
  /** What the decision found (priority errors, ports the leader cannot serve): emitted before the writes. */
  decided: Emission;
  ports?: ResolvedPorts;
  leaderDecision: LeaderDecision;
  desiredService: Service;
  /** What the Service's cloud backend is given, when it names one. */
  backendState?: BackendServiceState;
}

export type Plan = CleanupPlan | NameTakenPlan | RoutePlan;

export function serviceEventTarget(s: Snapshot): EventTarget {
  return { kind: "Service", namespace: s.namespace, name: s.name, uid: s.service?.metadata.uid };
}

export function planService(s: Snapshot): Plan {
  const target = serviceEventTarget(s);
  const cache: Emission = { ...emptyEmission(), metrics: [{ inc: s.service ? "cacheHits" : "cacheMisses" }] };
  if (s.kind !== "optedIn") {
    if (s.kind === "noSelector") {
      cache.events.push({
        type: "Warning",
        reason: "InvalidService",
        message:
          `Service ${s.namespace}/${s.name} is opted in to zen-lead but has no selector; a leader is chosen ` +
          `among the pods a selector matches, so no leader Service is created`,
      });
    }
    const labels = { namespace: s.namespace, service: s.name };
    const afterwards: Emission = {
      ...emptyEmission(),
      metrics: [
        { remove: "leaderStable", labels },
        { remove: "podsAvailable", labels },
        { remove: "withoutEndpoints", labels },
      ],
    };
    return { kind: "cleanup", target, snapshot: s, emission: cache, afterwards };
  }

  const found = concatEmissions(cache, invalidSettings(s));
  for (const [obj, kind] of [[s.observedService, "Service"], [s.observedSlice, "EndpointSlice"]] as const) {
    if (obj && !isManagedFor(obj, s.name)) {
      return {
        kind: "nameTaken",
        target,
        emission: concatEmissions(found, nameConflict(target, kind, s.leaderName)),
      };
    }
  }
  if (s.strangerSlice) {
    return {
      kind: "nameTaken",
      target,
      emission: concatEmissions(found, nameConflict(target, "EndpointSlice", s.leaderName)),
      requeueAfterMs: CONFLICT_RECHECK_MS,
    };
  }

  const { settings, service } = s;
  const decision = decideLeaders({
    service: {
      namespace: s.namespace,
      name: s.name,
      uid: s.uid,
      annotations: service.metadata.annotations ?? {},
    },
    pods: s.pods,
    nodes: s.nodes,
    currentLeaders: s.currentLeaders,
    settings,
    strategy: s.strategy,
    health: (uid) => s.health.get(uid),
    seed: s.seed,
    now: s.now,
  });
  const probeFirst = decision.unprobed.length > 0 && decision.leaders.length < settings.count
    ? decision.unprobed
    : [];

  const decided = emptyEmission();
  for (const e of decision.priorityErrors) {
    decided.events.push({
      type: "Warning",
      reason: "InvalidAnnotation",
      message: `pod ${e.pod}: ${e.message}`,
    });
  }
  const primary = decision.leaders[0];
  const ports = primary ? resolvePorts(service.spec?.ports ?? [], primary) : undefined;
  for (const f of ports?.failures ?? []) {
    decided.metrics.push({
      inc: "portFailures",
      labels: { namespace: s.namespace, service: s.name, type: f.named ? "named" : "numeric" },
    });
    decided.events.push({
      type: "Warning",
      reason: f.named ? "NamedPortResolutionFailed" : "PortResolutionFailed",
      message: f.message,
    });
  }
  if (primary && ports && ports.failures.length > 0) {
    decided.events.push({
      type: "Warning",
      reason: "PortResolutionFailed",
      message:
        `leader pod ${primary.metadata.name} cannot serve every port of Service ${s.name}; the leader ` +
        `routes nowhere until it can (fail-closed)`,
    });
  }

  const leaderDecision: LeaderDecision = {
    leaders: decision.leaders,
    ports,
    triggeredAt: s.trigger?.at ?? s.now,
    seed: s.seed,
  };
  return {
    kind: "route",
    target,
    snapshot: s,
    found,
    decision,
    probeFirst,
    decided,
    ports,
    leaderDecision,
    desiredService: desiredLeaderService(service, s.leaderName, leaderDecision, s.observedService, s.now),
    backendState: settings.backend ? backendState(s, decision, ports?.targets ?? []) : undefined,
  };
}

/**
 * The leader EndpointSlice once the leader Service exists: its ownerReference needs the Service's real UID, and
 * its address family follows the Service's. `routed` counts its endpoints.
 */
export function leaderSlice(
  plan: RoutePlan,
  leaderService: Service,
): { slice: EndpointSlice; routed: number } {
  const s = plan.snapshot;
  const family = leaderFamily(plan.leaderDecision, leaderService) ?? "IPv4";
  const endpoints = routableEndpoints(
    plan.leaderDecision,
    family,
    (pod) => resolvePorts(s.service.spec?.ports ?? [], pod),
  );
  return {
    slice: desiredEndpointSlice(s.name, leaderService, endpoints, plan.leaderDecision, family),
    routed: endpoints.length,
  };
}

/** Every invalid annotation is reported; each keeps its last good value. */
function invalidSettings(s: ServiceSnapshot): Emission {
  const out = emptyEmission();
  for (const e of s.settingsErrors) {
    out.metrics.push({ inc: "invalidAnnotations", labels: { annotation: e.annotation } });
    out.events.push({ type: "Warning", reason: "InvalidAnnotation", message: e.message });
  }
  if (s.leaderNameError !== undefined) {
    out.metrics.push({ inc: "invalidAnnotations", labels: { annotation: ANN.leaderServiceName } });
    out.events.push({ type: "Warning", reason: "InvalidAnnotation", message: s.leaderNameError });
  }
  return out;
}

/** The leader's name belongs to an object zen-lead does not manage: say so, write nothing. */
export function nameConflict(target: EventTarget, kind: string, leaderName: string): Emission {
  return {
    ...emptyEmission(),
    metrics: [{ inc: "nameConflicts" }],
    events: [{
      type: "Warning",
      reason: "LeaderNameConflict",
      message:
        `${kind} ${target.namespace}/${leaderName} exists and is not managed by zen-lead for Service ` +
        `${target.name}; it is left untouched. Rename it, or set ${ANN.leaderServiceName} to a free name`,
    }],
  };
}

function backendState(
  s: ServiceSnapshot,
  decision: Decision,
  targets: readonly number[],
): BackendServiceState {
  return {
    key: s.key,
    uid: s.uid,
    ports: (s.service.spec?.ports ?? []).map((p, i) => ({
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
      nodeIP: p.spec?.nodeName ? s.nodes.get(p.spec.nodeName)?.internalIP : undefined,
    })),
  };
}
