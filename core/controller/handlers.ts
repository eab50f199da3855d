/**
 * Watch event handlers as small named maps from an object to the Service keys to reconcile (controller-runtime's
 * `handler` idea), filtered by predicates. A handler gets an `enqueue` function and the few hooks it needs.
 */
import type { EndpointSlice, KubeObject, Node, Pod, Service } from "../kube/types.ts";
import { objectKey } from "../kube/types.ts";
import { LABEL, MANAGER } from "../leader/annotations.ts";
import { selectorMatches } from "../leader/pods.ts";
import { optedIn, optedOut, relevantNodeChange, relevantPodChange } from "./predicates.ts";
import { INDEX, type ReadStore } from "./stores.ts";

/** Queues a Service key; `cause` names the change observed now (the start of its failover latency). */
export type Enqueue = (key: string, cause?: string) => void;

/** The informer's handler shape. */
export interface ObjectHandlers<T> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

// ---- maps: object -> Service keys ----

/** `namespace/source` of a managed leader Service or slice, from its labels. */
export function managedSource(obj: KubeObject): string | undefined {
  const l = obj.metadata.labels ?? {};
  if (l[LABEL.managedBy] !== MANAGER || !l[LABEL.sourceService]) return undefined;
  return `${obj.metadata.namespace}/${l[LABEL.sourceService]}`;
}

/** Opted-in Services of `namespace` whose selector matches any of the label sets. */
export function servicesSelecting(
  services: Pick<ReadStore<Service>, "byIndex">,
  namespace: string,
  ...labelSets: (Record<string, string> | undefined)[]
): string[] {
  const keys: string[] = [];
  for (const s of services.byIndex(INDEX.namespace, namespace)) {
    const sel = s.spec?.selector ?? {};
    if (labelSets.some((l) => selectorMatches(sel, l))) keys.push(objectKey(s));
  }
  return keys;
}

/** Opted-in Services selecting a pod on `node`, each once. */
export function servicesOnNode(
  services: Pick<ReadStore<Service>, "byIndex">,
  pods: Pick<ReadStore<Pod>, "byIndex">,
  node: string,
): string[] {
  const keys = new Set<string>();
  for (const p of pods.byIndex(INDEX.node, node)) {
    for (const k of servicesSelecting(services, p.metadata.namespace ?? "", p.metadata.labels)) keys.add(k);
  }
  return [...keys];
}

// ---- handlers ----

export interface ServiceHandlerDeps {
  enqueue: Enqueue;
  /** Whether the namespace holds an opted-in Service may have changed: its pod watch follows. */
  namespaceTouched(namespace: string): void;
  /** A user's change earns a prompt try even for a key parked after failing. */
  unpark(key: string): void;
  /** The watch shows a managed leader Service: our copy of the write can go. */
  leaderServiceSeen(svc: Service): void;
  /** An opted-in Service was deleted: per-UID memory goes. */
  forget(uid: string): void;
}

/** A source Service reconciles itself; a managed leader Service reconciles its source. */
export function serviceHandlers(d: ServiceHandlerDeps): ObjectHandlers<Service> {
  const changed = (s: Service) => {
    d.namespaceTouched(s.metadata.namespace ?? "");
    d.unpark(objectKey(s));
    if (optedIn(s)) d.enqueue(objectKey(s));
    const source = managedSource(s);
    if (source) {
      d.leaderServiceSeen(s);
      d.enqueue(source);
    }
  };
  return {
    add: changed,
    update: (old, s) => {
      changed(s);
      if (optedOut(old, s)) d.enqueue(objectKey(s));
    },
    delete: (s) => {
      d.namespaceTouched(s.metadata.namespace ?? "");
      if (optedIn(s)) {
        d.enqueue(objectKey(s));
        if (s.metadata.uid) d.forget(s.metadata.uid);
      }
      const source = managedSource(s);
      if (source) d.enqueue(source);
    },
  };
}

export interface PodHandlerDeps {
  enqueue: Enqueue;
  /** Opted-in Service keys of `namespace` selecting any of the label sets (see servicesSelecting). */
  selecting(namespace: string, ...labelSets: (Record<string, string> | undefined)[]): string[];
  /** Backends that act on pods see every change. */
  podChanged(pod: Pod): void;
  podDeleted(pod: Pod): void;
}

/** A pod reconciles the Services selecting it (before and after a relabel). */
export function podHandlers(d: PodHandlerDeps): ObjectHandlers<Pod> {
  return {
    add: (p) => {
      d.podChanged(p);
      for (const k of d.selecting(p.metadata.namespace ?? "", p.metadata.labels)) d.enqueue(k, "podAdded");
    },
    update: (old, p) => {
      if (!relevantPodChange(old, p)) return;
      d.podChanged(p);
      const keys = d.selecting(p.metadata.namespace ?? "", old.metadata.labels, p.metadata.labels);
      for (const k of keys) d.enqueue(k, "podChanged");
    },
    delete: (p) => {
      d.podDeleted(p);
      for (const k of d.selecting(p.metadata.namespace ?? "", p.metadata.labels)) d.enqueue(k, "podDeleted");
    },
  };
}

export interface SliceHandlerDeps {
  enqueue: Enqueue;
  /** The watch shows a managed slice: our copy of the write can go. */
  sliceSeen(slice: EndpointSlice): void;
  /** A managed slice was deleted; `source` is its Service's key. */
  sliceDeleted(slice: EndpointSlice, source: string): void;
}

/** A managed EndpointSlice reconciles its source Service; a deleted one is repaired. */
export function sliceHandlers(d: SliceHandlerDeps): ObjectHandlers<EndpointSlice> {
  const changed = (s: EndpointSlice) => {
    d.sliceSeen(s);
    const source = managedSource(s);
    if (source) d.enqueue(source);
  };
  return {
    add: changed,
    update: (_old, s) => changed(s),
    delete: (s) => {
      const source = managedSource(s);
      if (!source) return;
      d.sliceDeleted(s, source);
      d.enqueue(source, "sliceDeleted");
    },
  };
}

export interface NodeHandlerDeps {
  enqueue: Enqueue;
  /** Opted-in Service keys selecting a pod on the node (see servicesOnNode). */
  servicesOn(node: string): string[];
}

/** A Node whose readiness, taints, labels or address changed reconciles the Services with pods on it. */
export function nodeHandlers(d: NodeHandlerDeps): ObjectHandlers<Node> {
  const enqueueFor = (n: Node) => {
    for (const k of d.servicesOn(n.metadata.name ?? "")) d.enqueue(k, "nodeChanged");
  };
  return {
    update: (old, n) => {
      if (relevantNodeChange(old, n)) enqueueFor(n);
    },
    delete: enqueueFor,
  };
}

/** A probe's healthy/unhealthy transition reconciles its Service, noted as the cause. */
export function probeTransitionHandler(enqueue: Enqueue) {
  return (serviceKey: string, _podUID: string, healthy: boolean): void =>
    enqueue(serviceKey, healthy ? "probePassed" : "probeFailed");
}
