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

/** The `zen_lead_api_writes_total` counter as `countWrites` needs it. */
export interface WriteCounter {
  inc(labels: { kind: string; verb: string }): void;
}

/** `api` with every acknowledged write of a managed object counted by kind and verb. */
export function countWrites(api: LeaderApi, writes: WriteCounter): LeaderApi {
  const counted =
    <A extends unknown[], R>(kind: string, verb: string, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const out = await f(...a);
      writes.inc({ kind, verb });
      return out;
    };
  return {
    getService: (ns, name) => api.getService(ns, name),
    createService: counted("Service", "create", (ns: string, s: Service) => api.createService(ns, s)),
    replaceService: counted("Service", "update", (ns: string, s: Service) => api.replaceService(ns, s)),
    deleteService: counted(
      "Service",
      "delete",
      (ns: string, name: string, uid: string, rv?: string) => api.deleteService(ns, name, uid, rv),
    ),
    getSlice: (ns, name) => api.getSlice(ns, name),
    createSlice: counted("EndpointSlice", "create", (ns: string, s: EndpointSlice) => api.createSlice(ns, s)),
    replaceSlice: counted(
      "EndpointSlice",
      "update",
      (ns: string, s: EndpointSlice) => api.replaceSlice(ns, s),
    ),
    deleteSlice: counted(
      "EndpointSlice",
      "delete",
      (ns: string, name: string, uid: string, rv?: string) => api.deleteSlice(ns, name, uid, rv),
    ),
    patchServiceStatus: (ns, name, status) => api.patchServiceStatus(ns, name, status),
  };
}
