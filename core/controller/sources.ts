/** The controller's sources: one informer per kind, trimmed by the transforms, with the indexes the reconcile reads. */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { KubeClient } from "../kube/client.ts";
import { dropManagedFields, Informer } from "../kube/informer.ts";
import { EndpointSlices, Nodes, Pods, Services } from "../kube/paths.ts";
import type { EndpointSlice, KubeObject, Node, Pod, Service } from "../kube/types.ts";
import { LABEL, MANAGER } from "../leader/annotations.ts";
import { managedSource } from "./handlers.ts";
import { optedIn } from "./predicates.ts";
import { INDEX } from "./stores.ts";
import { nodeTransform, podTransform, serviceTransform } from "./transforms.ts";

export interface SourceOptions {
  client: KubeClient;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Namespaces to watch; empty means cluster-wide. */
  namespaces: readonly string[];
  /** Whether Nodes can be watched (a namespace-scoped install has no ClusterRole for them). */
  watchNodes: boolean;
  stallTimeoutMs?: number;
  /** Timeout of each list page of the informers (`--cache-update-timeout-seconds`). */
  listTimeoutMs?: () => number;
}

export interface Sources {
  services: Informer<Service>;
  pods: Informer<Pod>;
  slices: Informer<EndpointSlice>;
  nodes?: Informer<Node>;
}

function sourceIndex(obj: KubeObject): string[] {
  const s = managedSource(obj);
  return s ? [s] : [];
}

export function createSources(o: SourceOptions): Sources {
  const common = {
    client: o.client,
    namespaces: o.namespaces,
    logger: o.logger,
    metrics: o.metrics,
    stallTimeoutMs: o.stallTimeoutMs,
    listTimeoutMs: o.listTimeoutMs,
  };
  const services = new Informer<Service>({ ...common, resource: Services, transform: serviceTransform });
  // Pods are watched per namespace that holds an opted-in Service (see PodWatchScopes), not cluster-wide.
  const pods = new Informer<Pod>({
    ...common,
    namespaces: [],
    dynamicScopes: true,
    resource: Pods,
    transform: podTransform,
  });
  const slices = new Informer<EndpointSlice>({
    ...common,
    resource: EndpointSlices,
    labelSelector: `${LABEL.sliceManagedBy}=${MANAGER}`,
    transform: dropManagedFields,
  });
  const nodes = o.watchNodes
    ? new Informer<Node>({ ...common, namespaces: [], resource: Nodes, transform: nodeTransform })
    : undefined;

  services.addIndex(INDEX.namespace, (s) => optedIn(s) ? [s.metadata.namespace ?? ""] : []);
  services.addIndex(INDEX.source, sourceIndex);
  slices.addIndex(INDEX.source, sourceIndex);
  pods.addIndex(INDEX.namespace, (p) => [p.metadata.namespace ?? ""]);
  pods.addIndex(INDEX.node, (p) => p.spec?.nodeName ? [p.spec.nodeName] : []);
  return { services, pods, slices, nodes };
}
