/** The read side the reconciler needs: informer stores, by key and by index. Names of the indexes live here. */
import type { EndpointSlice, Node, Pod, Service } from "../kube/types.ts";

export interface ReadStore<T> {
  get(key: string): T | undefined;
  byIndex(index: string, value: string): T[];
}

export const INDEX = {
  /** Pods and opted-in Services by namespace. */
  namespace: "namespace",
  /** Managed leader Services and EndpointSlices by `namespace/source-service`. */
  source: "source",
  /** Pods by node name. */
  node: "node",
} as const;

export interface ControllerStores {
  services: ReadStore<Service>;
  pods: ReadStore<Pod>;
  slices: ReadStore<EndpointSlice>;
  nodes?: { get(name: string): Node | undefined };
}
