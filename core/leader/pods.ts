/** Pure views of pods: selector membership, eligibility for leadership, and the plugin-facing PodView. */
import type { Node, Pod } from "../kube/types.ts";
import type { NodeView, PodView } from "../plugin/types.ts";

export function selectorMatches(selector: Readonly<Record<string, string>>, labels?: Record<string, string>) {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  for (const k of keys) if (labels?.[k] !== selector[k]) return false;
  return true;
}

/** Why a pod cannot lead; the names double as failover reasons (in Events and metric labels). */
export type IneligibleReason = "terminating" | "notReady" | "noIP";

function readyCondition(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

export function ineligibleReason(pod: Pod): IneligibleReason | undefined {
  if (pod.metadata.deletionTimestamp) return "terminating";
  if (pod.status?.phase !== "Running" || readyCondition(pod)?.status !== "True") return "notReady";
  if (!pod.status?.podIP) return "noIP";
  return undefined;
}

export function readySince(pod: Pod): number | undefined {
  const c = readyCondition(pod);
  if (c?.status !== "True") return undefined;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  // A Ready pod without a transition time counts as ready since its start (kubelets always set one).
  return Number.isFinite(t)
    ? t
    : Date.parse(pod.status?.startTime ?? pod.metadata.creationTimestamp ?? "") || 0;
}

export interface Eligibility {
  eligible: Pod[];
  /** Ready pods still inside min-ready-duration. */
  warming: Pod[];
  /** Epoch ms at which the earliest warming pod qualifies; the controller requeues for it. */
  nextQualifiesAt?: number;
}

/** When an eligible pod has been Ready for `minReadyMs` (epoch ms); at or before `now` means it qualifies. */
export function qualifiesAt(pod: Pod, now: number, minReadyMs: number): number {
  return (readySince(pod) ?? now) + minReadyMs;
}

/** Splits selected pods into those that may lead now and those waiting out min-ready-duration. */
export function classifyPods(pods: readonly Pod[], now: number, minReadyMs: number): Eligibility {
  const eligible: Pod[] = [];
  const warming: Pod[] = [];
  let nextQualifiesAt: number | undefined;
  for (const pod of pods) {
    if (ineligibleReason(pod)) continue;
    if (minReadyMs > 0) {
      const at = qualifiesAt(pod, now, minReadyMs);
      if (at > now) {
        warming.push(pod);
        nextQualifiesAt = nextQualifiesAt === undefined ? at : Math.min(nextQualifiesAt, at);
        continue;
      }
    }
    eligible.push(pod);
  }
  return { eligible, warming, nextQualifiesAt };
}

export function podIPs(pod: Pod): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip).filter(Boolean) ?? [];
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

export function ipFamilyOf(ip: string): "IPv4" | "IPv6" {
  return ip.includes(":") ? "IPv6" : "IPv4";
}

export function toPodView(pod: Pod): PodView {
  const ports: { name?: string; port: number; protocol: string }[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      ports.push({ name: p.name, port: p.containerPort, protocol: p.protocol ?? "TCP" });
    }
  }
  return {
    namespace: pod.metadata.namespace ?? "",
    name: pod.metadata.name ?? "",
    uid: pod.metadata.uid ?? "",
    ip: pod.status?.podIP ?? "",
    nodeName: pod.spec?.nodeName,
    labels: pod.metadata.labels ?? {},
    annotations: pod.metadata.annotations ?? {},
    createdAt: Date.parse(pod.metadata.creationTimestamp ?? "") || 0,
    readySince: readySince(pod),
    ports,
  };
}

export function toNodeView(node: Node): NodeView {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status;
  const labels = node.metadata.labels ?? {};
  return {
    name: node.metadata.name ?? "",
    ready: ready === "True" ? true : ready === "False" ? false : "Unknown",
    unschedulable: node.spec?.unschedulable === true,
    taints: node.spec?.taints ?? [],
    labels,
    zone: labels["topology.kubernetes.io/zone"] ?? labels["failure-domain.beta.kubernetes.io/zone"],
    internalIP: node.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
  };
}
