/** The annotation and label keys zen-lead reads and writes; one place so a typo cannot split a feature. */

export const ANN = {
  enabled: "zen-lead.io/enabled",
  leaderServiceName: "zen-lead.io/leader-service-name",
  strategy: "zen-lead.io/strategy",
  strategyOptions: "zen-lead.io/strategy-options",
  sticky: "zen-lead.io/sticky",
  leaderCount: "zen-lead.io/leader-count",
  minReadyDuration: "zen-lead.io/min-ready-duration",
  healthCheck: "zen-lead.io/health-check",
  healthFailMode: "zen-lead.io/health-fail-mode",
  backend: "zen-lead.io/backend",
  priority: "zen-lead.io/priority",
  // Written on the leader Service.
  currentLeader: "zen-lead.io/current-leader",
  leaderPodName: "zen-lead.io/leader-pod-name",
  leaderPodUID: "zen-lead.io/leader-pod-uid",
  leaderLastSwitchTime: "zen-lead.io/leader-last-switch-time",
  leaderPods: "zen-lead.io/leader-pods",
  seed: "zen-lead.io/random-seed",
  lastChangeTriggerTime: "endpoints.kubernetes.io/last-change-trigger-time",
  lastAppliedConfiguration: "kubectl.kubernetes.io/last-applied-configuration",
} as const;

export const LABEL = {
  managedBy: "app.kubernetes.io/managed-by",
  sourceService: "zen-lead.io/source-service",
  serviceName: "kubernetes.io/service-name",
  sliceManagedBy: "endpointslice.kubernetes.io/managed-by",
} as const;

export const MANAGER = "zen-lead";

/** A Service is opted in only by the exact string "true" (no "True", no "1": one spelling, no guessing). */
export function isOptedIn(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[ANN.enabled] === "true";
}

/**
 * Labels and annotations by which GitOps tools track what they own. Copying them onto the leader Service would
 * make Argo CD or Flux adopt or prune an object that zen-lead manages.
 */
export const GITOPS_LABELS: readonly (string | RegExp)[] = [
  "app.kubernetes.io/instance",
  "argocd.argoproj.io/instance",
  /^kustomize\.toolkit\.fluxcd\.io\//,
  /^helm\.toolkit\.fluxcd\.io\//,
];

export const GITOPS_ANNOTATIONS: readonly (string | RegExp)[] = [
  "argocd.argoproj.io/tracking-id",
  /^argocd\.argoproj\.io\//,
  /^kustomize\.toolkit\.fluxcd\.io\//,
  /^helm\.sh\//,
  /^meta\.helm\.sh\//,
];

export function matchesAny(key: string, patterns: readonly (string | RegExp)[]): boolean {
  return patterns.some((p) => typeof p === "string" ? p === key : p.test(key));
}
