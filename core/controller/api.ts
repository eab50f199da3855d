/** The writes the reconciler makes: a narrow port over the Kubernetes client, so decisions stay testable. */
import type { EndpointSlice, Service } from "../kube/types.ts";

export interface LeaderApi {
  getService(namespace: string, name: string): Promise<Service | undefined>;
  createService(namespace: string, svc: Service): Promise<Service>;
  replaceService(namespace: string, svc: Service): Promise<Service>;
  /**
   * Deletes only the object with `uid` and, when given, `resourceVersion` (preconditions): a stranger's new object
   * of that name is safe, and a delete decided from an old view fails with 409.
   */
  deleteService(namespace: string, name: string, uid: string, resourceVersion?: string): Promise<void>;
  getSlice(namespace: string, name: string): Promise<EndpointSlice | undefined>;
  createSlice(namespace: string, slice: EndpointSlice): Promise<EndpointSlice>;
  replaceSlice(namespace: string, slice: EndpointSlice): Promise<EndpointSlice>;
  deleteSlice(namespace: string, name: string, uid: string, resourceVersion?: string): Promise<void>;
  /** Writes `status.loadBalancer` of a source Service (what a cloud backend reported). */
  patchServiceStatus(namespace: string, name: string, status: Service["status"]): Promise<void>;
}
