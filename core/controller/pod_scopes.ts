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

/** What PodWatchScopes reads and steers. */
export interface PodWatchDeps {
  /** Opted-in Services by namespace (the services informer's namespace index). */
  optedInServices(namespace: string): readonly unknown[];
  isOptedIn(key: string): boolean;
  pods: {
    readonly watchedScopes: string[];
    scopeSynced(namespace: string): boolean;
    scopeListed(namespace: string): boolean;
    setScopes(namespaces: Iterable<string>): void;
  };
  installNamespaces: readonly string[];
  /** A cloud backend is enabled: it reads every pod. */
  backendsEnabled(): boolean;
  maxNamespaces: number;
}

/** Keeps the pod informer's scopes on the namespaces that hold opted-in Services. */
export class PodWatchScopes {
  /** Namespaces holding an opted-in Service. */
  private readonly opted = new Set<string>();
  /** Scopes follow the opted-in namespaces once the Services are listed. */
  private live = false;

  constructor(private readonly d: PodWatchDeps) {}

  /** The Services are listed: from now on the scopes follow them. */
  start(): void {
    this.live = true;
    this.apply();
  }

  /** False for an opted-in Service whose namespace's pods are not listed yet: deciding now would see none. */
  podsCachedFor(key: string): boolean {
    const ns = key.slice(0, key.indexOf("/"));
    if (this.d.pods.scopeSynced(ns)) return true;
    if (!this.d.isOptedIn(key)) return true;
    this.noteNamespace(ns);
    return false;
  }

  /** Re-reads whether `ns` holds an opted-in Service; opens or closes its pod watch when that changed. */
  noteNamespace(ns: string): void {
    const has = this.d.optedInServices(ns).length > 0;
    if (has === this.opted.has(ns)) return;
    if (has) this.opted.add(ns);
    else this.opted.delete(ns);
    this.apply();
  }

  /** Points the pod informer at the namespaces that hold opted-in Services (all pods while a backend runs). */
  apply(): void {
    if (!this.live) return;
    const want = desiredPodScopes({
      optedIn: this.opted,
      installNamespaces: this.d.installNamespaces,
      allPods: this.d.backendsEnabled(),
      maxNamespaces: this.d.maxNamespaces,
    });
    // Leaving the cluster-wide watch: it keeps delivering until each namespace's own list is in.
    const current = this.d.pods.watchedScopes;
    if (current.includes("") && !want.includes("") && !want.every((ns) => this.d.pods.scopeListed(ns))) {
      want.push("");
    }
    const same = want.length === current.length && want.every((ns) => current.includes(ns));
    if (!same) this.d.pods.setScopes(want);
  }
}
