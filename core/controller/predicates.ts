/** Predicates over watch events (controller-runtime's `predicate` idea): which changes can change a decision. */
import type { Node, Pod, Service } from "../kube/types.ts";
import { isOptedIn } from "../leader/annotations.ts";

/** An update and its previous version. */
export type UpdatePredicate<T> = (old: T, obj: T) => boolean;

function ready(p: Pod): string | undefined {
  return p.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

/** Pod changes that can change a leader decision; status heartbeats and the like are not. */
export const relevantPodChange: UpdatePredicate<Pod> = (a, b) =>
  ready(a) !== ready(b) ||
  a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp ||
  a.status?.podIP !== b.status?.podIP ||
  a.status?.phase !== b.status?.phase ||
  a.spec?.nodeName !== b.spec?.nodeName ||
  JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
  JSON.stringify(a.metadata.annotations ?? {}) !== JSON.stringify(b.metadata.annotations ?? {}) ||
  JSON.stringify(a.spec?.containers ?? []) !== JSON.stringify(b.spec?.containers ?? []);

/** What of a Node a decision reads: readiness, schedulability, taints, labels, its InternalIP. */
function nodeState(n: Node) {
  return {
    ready: n.status?.conditions?.find((c) => c.type === "Ready")?.status,
    unschedulable: n.spec?.unschedulable ?? false,
    taints: n.spec?.taints ?? [],
    labels: n.metadata.labels,
    ip: n.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
  };
}

/** Node changes that can change a leader decision (not its heartbeats or image list). */
export const relevantNodeChange: UpdatePredicate<Node> = (a, b) =>
  JSON.stringify(nodeState(a)) !== JSON.stringify(nodeState(b));

/** The Service carries the opt-in annotation. */
export const optedIn = (s: Service): boolean => isOptedIn(s.metadata.annotations);

/** The Service was opted in and no longer is: it needs one more reconcile, which cleans up. */
export const optedOut: UpdatePredicate<Service> = (old, s) => optedIn(old) && !optedIn(s);
