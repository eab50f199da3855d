/**
 * What the caches keep of each object. Pods are trimmed to the fields a leader decision reads, which keeps a
 * 3,000-pod cache small; Services and Nodes likewise keep what is read.
 */
import type { Node, Pod, Service } from "../kube/types.ts";
import { ANN, isOptedIn, LABEL, MANAGER } from "../leader/annotations.ts";

export function podTransform(p: Pod): Pod {
  const ann = p.metadata.annotations ?? {};
  const keep: Record<string, string> = {};
  for (const [k, v] of Object.entries(ann)) if (k.startsWith("zen-lead.io/")) keep[k] = v;
  return {
    metadata: {
      name: p.metadata.name,
      namespace: p.metadata.namespace,
      uid: p.metadata.uid,
      resourceVersion: p.metadata.resourceVersion,
      creationTimestamp: p.metadata.creationTimestamp,
      deletionTimestamp: p.metadata.deletionTimestamp,
      labels: p.metadata.labels,
      annotations: keep,
    },
    spec: {
      nodeName: p.spec?.nodeName,
      containers: (p.spec?.containers ?? []).map((c) => ({ name: c.name, ports: c.ports })),
    },
    status: {
      phase: p.status?.phase,
      podIP: p.status?.podIP,
      podIPs: p.status?.podIPs,
      startTime: p.status?.startTime,
      conditions: p.status?.conditions?.filter((c) => c.type === "Ready"),
    },
  };
}

/**
 * Nodes keep what a decision reads (Ready, schedulability, taints, labels, InternalIP): a real Node's image list
 * and the rest of its status are most of its size.
 */
export function nodeTransform(n: Node): Node {
  return {
    metadata: {
      name: n.metadata.name,
      uid: n.metadata.uid,
      resourceVersion: n.metadata.resourceVersion,
      labels: n.metadata.labels,
    },
    spec: { unschedulable: n.spec?.unschedulable, taints: n.spec?.taints },
    status: {
      conditions: n.status?.conditions?.filter((c) => c.type === "Ready"),
      addresses: n.status?.addresses?.filter((a) => a.type === "InternalIP"),
    },
  };
}

/**
 * Opted-in and managed Services lose only managedFields and last-applied-configuration. Any other Service is
 * kept as a name with its labels and zen-lead annotations: enough to see it opt in (the update that does so
 * carries the whole object) or hold a leader's name, and most of a large cluster's Services are of this kind.
 */
export function serviceTransform(s: Service): Service {
  const l = s.metadata.labels ?? {};
  if (!isOptedIn(s.metadata.annotations) && l[LABEL.managedBy] !== MANAGER) {
    return {
      metadata: {
        name: s.metadata.name,
        namespace: s.metadata.namespace,
        uid: s.metadata.uid,
        resourceVersion: s.metadata.resourceVersion,
        deletionTimestamp: s.metadata.deletionTimestamp,
        labels: s.metadata.labels,
        annotations: zenLeadAnnotations(s.metadata.annotations),
      },
    };
  }
  const metadata = { ...s.metadata };
  delete metadata.managedFields;
  if (metadata.annotations?.[ANN.lastAppliedConfiguration] !== undefined) {
    metadata.annotations = { ...metadata.annotations };
    delete metadata.annotations[ANN.lastAppliedConfiguration];
  }
  return { ...s, metadata };
}

function zenLeadAnnotations(ann: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!ann) return undefined;
  let keep: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(ann)) if (k.startsWith("zen-lead.io/")) (keep ??= {})[k] = v;
  return keep;
}
