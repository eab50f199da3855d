/** The resources zen-lead touches and their REST paths. */

export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const Pods: ResourceType = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
export const Services: ResourceType = {
  group: "",
  version: "v1",
  plural: "services",
  kind: "Service",
  namespaced: true,
};
export const Nodes: ResourceType = {
  group: "",
  version: "v1",
  plural: "nodes",
  kind: "Node",
  namespaced: false,
};
export const ConfigMaps: ResourceType = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};
export const Events: ResourceType = {
  group: "",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};
export const Namespaces: ResourceType = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};
export const EndpointSlices: ResourceType = {
  group: "discovery.k8s.io",
  version: "v1",
  plural: "endpointslices",
  kind: "EndpointSlice",
  namespaced: true,
};
export const Leases: ResourceType = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};

/** `apiVersion` as written in objects: "v1" or "group/version". */
export function apiVersionOf(res: ResourceType): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

/**
 * The REST path of a collection (no name) or an object, optionally a subresource. `namespace` is ignored for
 * cluster-scoped resources and, when empty, means "all namespaces" for namespaced collections.
 */
export function resourcePath(
  res: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const root = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  const ns = res.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  if (res.namespaced && !namespace && name) {
    throw new Error(
      `${res.kind} "${name}": a namespace is required for a namespaced resource, received none`,
    );
  }
  let path = `${root}${ns}/${res.plural}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (subresource) {
    if (!name) throw new Error(`${res.kind} subresource "${subresource}": an object name is required`);
    path += `/${subresource}`;
  }
  return path;
}

/** The resource plural of a REST path, for operation names of raw calls: /api/v1/namespaces/x/pods -> pods. */
export function pathResource(path: string): string {
  const segments = path.split("?")[0].split("/").filter(Boolean);
  const rest = segments[0] === "apis" ? segments.slice(3) : segments.slice(2);
  if (rest[0] === "namespaces" && rest.length > 2) return rest[2];
  return rest[0] ?? "unknown";
}
