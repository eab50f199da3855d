/**
 * The desired leader Service and EndpointSlice for a decision: plain functions of plain data. The reconciler
 * compares them with what the API server holds (see compare.ts) and writes only the difference.
 */
import type { Endpoint, EndpointSlice, OwnerReference, Pod, Service, ServicePort } from "../kube/types.ts";
import { ANN, GITOPS_ANNOTATIONS, GITOPS_LABELS, LABEL, MANAGER, matchesAny } from "./annotations.ts";
import { ipFamilyOf, podIPs } from "./pods.ts";
import type { ResolvedPorts } from "./ports.ts";

export interface LeaderDecision {
  /** Pods that route, primary first; empty means `endpoints: []`. */
  leaders: readonly Pod[];
  /** Ports resolved on the primary leader; undefined when there is none. */
  ports?: ResolvedPorts;
  /** When the change that led here was observed (epoch ms), for last-change-trigger-time. */
  triggeredAt: number;
  /** The seed recorded for random strategies. */
  seed: string;
}

export function ownerRefTo(obj: { metadata: { name?: string; uid?: string } }, kind: string): OwnerReference {
  return {
    apiVersion: "v1",
    kind,
    name: obj.metadata.name ?? "",
    uid: obj.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function managedLabels(sourceName: string): Record<string, string> {
  return { [LABEL.managedBy]: MANAGER, [LABEL.sourceService]: sourceName };
}

/** True when zen-lead manages `obj` for the source Service `sourceName`; it writes nothing else. */
export function isManagedFor(obj: { metadata: { labels?: Record<string, string> } }, sourceName: string) {
  const l = obj.metadata.labels ?? {};
  return l[LABEL.managedBy] === MANAGER && l[LABEL.sourceService] === sourceName;
}

function leaderServiceType(source: Service): string {
  const type = source.spec?.type ?? "ClusterIP";
  if (type === "ExternalName") return "ClusterIP";
  return type;
}

/** The family the leader Service should use: the primary leader's, else what it already has. */
export function leaderFamily(decision: LeaderDecision, observed?: Service): "IPv4" | "IPv6" | undefined {
  const primary = decision.leaders[0];
  const ip = primary ? podIPs(primary)[0] : undefined;
  if (ip) return ipFamilyOf(ip);
  const have = observed?.spec?.ipFamilies?.[0];
  return have === "IPv4" || have === "IPv6" ? have : undefined;
}

function leaderPorts(source: Service, decision: LeaderDecision, observed?: Service): ServicePort[] {
  return (source.spec?.ports ?? []).map((sp, i) => {
    const resolved = decision.ports?.targets[i];
    let targetPort: number | string | undefined = resolved && resolved > 0 ? resolved : undefined;
    if (targetPort === undefined) {
      // No leader or a failed resolution: keep what the leader Service already routes to, so its ports stay valid.
      const prev = observed?.spec?.ports?.find((p) =>
        (p.name ?? "") === (sp.name ?? "") && p.port === sp.port
      );
      targetPort = prev?.targetPort ?? sp.targetPort ?? sp.port;
    }
    const port: ServicePort = { name: sp.name, protocol: sp.protocol ?? "TCP", port: sp.port, targetPort };
    if (sp.appProtocol) port.appProtocol = sp.appProtocol;
    if (!port.name) delete port.name;
    return port;
  });
}

/** Spec fields the leader Service copies from its source (never clusterIP(s), nodePorts or the selector). */
export const COPIED_SPEC_FIELDS = [
  "sessionAffinity",
  "sessionAffinityConfig",
  "externalTrafficPolicy",
  "internalTrafficPolicy",
  "loadBalancerClass",
  "loadBalancerSourceRanges",
  "allocateLoadBalancerNodePorts",
  "publishNotReadyAddresses",
] as const;

export function desiredLeaderService(
  source: Service,
  leaderName: string,
  decision: LeaderDecision,
  observed: Service | undefined,
  now: number,
): Service {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(source.metadata.labels ?? {})) {
    if (!matchesAny(k, GITOPS_LABELS)) labels[k] = v;
  }
  Object.assign(labels, managedLabels(source.metadata.name ?? ""));

  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(source.metadata.annotations ?? {})) {
    if (k.startsWith("zen-lead.io/") || k === ANN.lastAppliedConfiguration) continue;
    if (matchesAny(k, GITOPS_ANNOTATIONS)) continue;
    annotations[k] = v;
  }
  const primary = decision.leaders[0];
  const prevUID = observed?.metadata.annotations?.[ANN.leaderPodUID];
  const prevSwitch = observed?.metadata.annotations?.[ANN.leaderLastSwitchTime];
  if (primary) {
    annotations[ANN.currentLeader] = primary.metadata.name ?? "";
    annotations[ANN.leaderPodName] = primary.metadata.name ?? "";
    annotations[ANN.leaderPodUID] = primary.metadata.uid ?? "";
    if (decision.leaders.length > 1) {
      annotations[ANN.leaderPods] = decision.leaders.map((p) => p.metadata.name).join(",");
    }
  }
  // The switch time moves only when the leader's UID does, so it survives no-op rewrites and restarts.
  const switched = primary ? primary.metadata.uid !== prevUID : false;
  if (switched || !prevSwitch) {
    if (primary) {
      annotations[ANN.leaderLastSwitchTime] = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
    }
  } else annotations[ANN.leaderLastSwitchTime] = prevSwitch;
  annotations[ANN.seed] = decision.seed;

  const spec: NonNullable<Service["spec"]> = {
    type: leaderServiceType(source),
    ports: leaderPorts(source, decision, observed),
  };
  for (const f of COPIED_SPEC_FIELDS) {
    const v = source.spec?.[f];
    if (v !== undefined) (spec as Record<string, unknown>)[f] = structuredClone(v);
  }
  if (spec.type !== "LoadBalancer") {
    delete spec.loadBalancerClass;
    delete spec.loadBalancerSourceRanges;
    delete spec.allocateLoadBalancerNodePorts;
  }
  if (spec.type === "ClusterIP") delete spec.externalTrafficPolicy;
  const family = leaderFamily(decision, observed);
  if (family) {
    spec.ipFamilies = [family];
    spec.ipFamilyPolicy = "SingleStack";
  }
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: leaderName,
      namespace: source.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [ownerRefTo(source, "Service")],
    },
    spec,
  };
}

function endpointFor(pod: Pod, family: "IPv4" | "IPv6"): Endpoint | undefined {
  const ip = podIPs(pod).find((a) => ipFamilyOf(a) === family);
  if (!ip) return undefined;
  const ep: Endpoint = {
    addresses: [ip],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: {
      kind: "Pod",
      namespace: pod.metadata.namespace,
      name: pod.metadata.name ?? "",
      uid: pod.metadata.uid,
    },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  return ep;
}

/** Leaders whose resolved ports equal the primary's: one slice carries one port list for all its endpoints. */
export function routableEndpoints(
  decision: LeaderDecision,
  family: "IPv4" | "IPv6",
  portsOf: (pod: Pod) => ResolvedPorts,
): Endpoint[] {
  const primary = decision.leaders[0];
  if (!primary || !decision.ports || decision.ports.failures.length > 0) return [];
  const want = JSON.stringify(decision.ports.endpointPorts);
  const out: Endpoint[] = [];
  for (const pod of decision.leaders) {
    if (pod !== primary && JSON.stringify(portsOf(pod).endpointPorts) !== want) continue;
    const ep = endpointFor(pod, family);
    if (ep) out.push(ep);
  }
  return out;
}

export function desiredEndpointSlice(
  sourceName: string,
  leaderService: Service,
  endpoints: Endpoint[],
  decision: LeaderDecision,
  family: "IPv4" | "IPv6",
): EndpointSlice {
  const leaderName = leaderService.metadata.name ?? "";
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: leaderName,
      namespace: leaderService.metadata.namespace,
      labels: {
        [LABEL.serviceName]: leaderName,
        [LABEL.sliceManagedBy]: MANAGER,
        ...managedLabels(sourceName),
      },
      annotations: {
        [ANN.lastChangeTriggerTime]: new Date(decision.triggeredAt).toISOString(),
      },
      ownerReferences: [ownerRefTo(leaderService, "Service")],
    },
    addressType: family,
    endpoints,
    ports: endpoints.length > 0 ? decision.ports?.endpointPorts ?? [] : [],
  };
}
