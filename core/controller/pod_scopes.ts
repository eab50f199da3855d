/**
 * Which namespaces' pods the controller watches: only those holding an opted-in Service, so memory, start-up and
 * CPU follow what is opted in, not the size of the cluster. Pure: the controller applies the answer.
 */

export interface PodScopeInput {
  /** Namespaces that hold at least one opted-in Service. */
  optedIn: ReadonlySet<string>;
  /** Namespaces the install may watch; empty: cluster-wide (a ClusterRole). */
  installNamespaces: readonly string[];
  /** A cloud backend reads every pod (egress labels), so every pod the install can see is watched. */
  allPods: boolean;
  /** Beyond this many namespaces one cluster-wide watch replaces the per-namespace ones (cluster-wide installs). */
  maxNamespaces: number;
}

/** The pod informer's scopes: namespaces, or `[""]` for one cluster-wide watch. */
export function desiredPodScopes(i: PodScopeInput): string[] {
  const clusterWide = i.installNamespaces.length === 0;
  if (i.allPods) return clusterWide ? [""] : [...i.installNamespaces];
  const wanted = clusterWide ? [...i.optedIn] : i.installNamespaces.filter((ns) => i.optedIn.has(ns));
  if (clusterWide && wanted.length > i.maxNamespaces) return [""];
  return wanted.sort();
}
