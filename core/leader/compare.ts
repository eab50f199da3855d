/**
 * Desired-vs-observed comparison over the fields zen-lead owns, and the merge that turns an observed object into
 * the one to write. Fields others own (clusterIP, allocated nodePorts, annotations added by other tools) survive.
 */
import type { EndpointSlice, OwnerReference, Service, ServicePort } from "../kube/types.ts";
import { canonicalJson } from "../plugin/canonical.ts";
import { COPIED_SPEC_FIELDS } from "./desired_objects.ts";
import { ANN } from "./annotations.ts";

function subsetEqual(want: Record<string, string> = {}, have: Record<string, string> = {}): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

function hasOwner(refs: OwnerReference[] | undefined, want: OwnerReference): boolean {
  return (refs ?? []).some((r) => r.uid === want.uid && r.kind === want.kind && r.controller === true);
}

function portShape(p: ServicePort) {
  return {
    name: p.name ?? "",
    protocol: p.protocol ?? "TCP",
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    appProtocol: p.appProtocol ?? "",
  };
}

/** The spec fields zen-lead owns on a leader Service: its type and what it copies from the source. */
const SPEC_KEYS = ["type", ...COPIED_SPEC_FIELDS] as const;

/**
 * zen-lead.io/ annotations on the observed object that the desired one no longer carries, and a copied
 * last-applied-configuration (the Go predecessor copied the source's; zen-lead never writes one).
 */
function staleOwnAnnotations(desired: Record<string, string> = {}, observed: Record<string, string> = {}) {
  return Object.keys(observed).filter((k) =>
    (k.startsWith("zen-lead.io/") || k === ANN.lastAppliedConfiguration) && !(k in desired)
  );
}

/** Fields of a Service that only an API server default could make differ, compared in their defaulted form. */
function specDefaulted(spec: NonNullable<Service["spec"]>, key: (typeof SPEC_KEYS)[number]): unknown {
  const v = spec[key];
  if (key === "type") return v ?? "ClusterIP";
  if (key === "sessionAffinity") return v ?? "None";
  if (key === "internalTrafficPolicy") return v ?? "Cluster";
  if (key === "externalTrafficPolicy" && spec.type !== "ClusterIP") return v ?? "Cluster";
  if (key === "sessionAffinityConfig" && (spec.sessionAffinity ?? "None") === "None") return undefined;
  if (key === "allocateLoadBalancerNodePorts" && spec.type === "LoadBalancer") return v ?? true;
  if (key === "publishNotReadyAddresses") return v ?? false;
  return v;
}

/** Why the observed leader Service differs from the desired one, or undefined when no write is needed. */
export function serviceDrift(desired: Service, observed: Service): string | undefined {
  const d = desired.spec ?? {};
  const o = observed.spec ?? {};
  if (!subsetEqual(desired.metadata.labels, observed.metadata.labels)) return "labels";
  if (!subsetEqual(desired.metadata.annotations, observed.metadata.annotations)) return "annotations";
  if (staleOwnAnnotations(desired.metadata.annotations, observed.metadata.annotations).length) {
    return "annotations";
  }
  if (!hasOwner(observed.metadata.ownerReferences, desired.metadata.ownerReferences![0])) {
    return "ownerReference";
  }
  if (o.selector && Object.keys(o.selector).length > 0) return "selector";
  for (const k of SPEC_KEYS) {
    if (canonicalJson(specDefaulted(d, k)) !== canonicalJson(specDefaulted(o, k))) return `spec.${k}`;
  }
  if (canonicalJson((d.ports ?? []).map(portShape)) !== canonicalJson((o.ports ?? []).map(portShape))) {
    return "ports";
  }
  if (d.ipFamilies && d.ipFamilies[0] !== o.ipFamilies?.[0]) return "ipFamilies";
  return undefined;
}

/** The family of a Service can only be chosen at creation: a different one means delete and create again. */
export function serviceNeedsRecreate(desired: Service, observed: Service): boolean {
  const want = desired.spec?.ipFamilies?.[0];
  const have = observed.spec?.ipFamilies?.[0];
  return want !== undefined && have !== undefined && want !== have;
}

/** The object to PUT: the observed Service with the desired managed fields laid over it. */
export function mergeService(desired: Service, observed: Service): Service {
  const out = structuredClone(observed);
  out.metadata.labels = { ...observed.metadata.labels, ...desired.metadata.labels };
  const ann = { ...observed.metadata.annotations, ...desired.metadata.annotations };
  for (const k of staleOwnAnnotations(desired.metadata.annotations, observed.metadata.annotations)) {
    delete ann[k];
  }
  out.metadata.annotations = ann;
  const owner = desired.metadata.ownerReferences![0];
  out.metadata.ownerReferences = [
    ...(observed.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.uid && r.controller !== true),
    owner,
  ];
  delete out.metadata.managedFields;
  const spec = { ...(observed.spec ?? {}) };
  delete spec.selector;
  for (const k of SPEC_KEYS) {
    if (desired.spec?.[k] === undefined) delete spec[k];
    else (spec as Record<string, unknown>)[k] = desired.spec[k];
  }
  // Keep node ports the API server allocated for the same port; never copy the source's: the API server
  // refuses a node port another Service already holds.
  spec.ports = (desired.spec?.ports ?? []).map((p) => {
    const prev = observed.spec?.ports?.find((q) => q.port === p.port && (q.protocol ?? "TCP") === p.protocol);
    return spec.type === "NodePort" || spec.type === "LoadBalancer"
      ? (prev?.nodePort ? { ...p, nodePort: prev.nodePort } : { ...p })
      : { ...p };
  });
  if (spec.type === "ClusterIP") delete spec.healthCheckNodePort;
  if (desired.spec?.ipFamilies) {
    spec.ipFamilies = desired.spec.ipFamilies;
    spec.ipFamilyPolicy = desired.spec.ipFamilyPolicy;
  }
  out.spec = spec;
  return out;
}

function endpointShape(s: EndpointSlice) {
  return {
    addressType: s.addressType,
    endpoints: (s.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      conditions: {
        ready: e.conditions?.ready ?? null,
        serving: e.conditions?.serving ?? null,
        terminating: e.conditions?.terminating ?? null,
      },
      nodeName: e.nodeName ?? "",
      targetRef: e.targetRef
        ? {
          kind: e.targetRef.kind,
          namespace: e.targetRef.namespace ?? "",
          name: e.targetRef.name,
          uid: e.targetRef.uid ?? "",
        }
        : null,
    })),
    ports: (s.ports ?? []).map((p) => ({
      name: p.name ?? "",
      port: p.port,
      protocol: p.protocol ?? "TCP",
      appProtocol: p.appProtocol ?? "",
    })),
  };
}

/** Why the observed slice differs (the trigger-time annotation alone never causes a write). */
export function sliceDrift(desired: EndpointSlice, observed: EndpointSlice): string | undefined {
  if (!subsetEqual(desired.metadata.labels, observed.metadata.labels)) return "labels";
  if (!hasOwner(observed.metadata.ownerReferences, desired.metadata.ownerReferences![0])) {
    return "ownerReference";
  }
  const d = endpointShape(desired);
  const o = endpointShape(observed);
  if (canonicalJson(d.endpoints) !== canonicalJson(o.endpoints)) return "endpoints";
  if (canonicalJson(d.ports) !== canonicalJson(o.ports)) return "ports";
  return undefined;
}

export function mergeSlice(desired: EndpointSlice, observed: EndpointSlice): EndpointSlice {
  const out = structuredClone(desired);
  out.metadata = {
    ...observed.metadata,
    labels: { ...observed.metadata.labels, ...desired.metadata.labels },
    annotations: { ...observed.metadata.annotations, ...desired.metadata.annotations },
    ownerReferences: desired.metadata.ownerReferences,
  };
  delete out.metadata.managedFields;
  return out;
}
