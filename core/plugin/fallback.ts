/** What the kernel answers with when a plugin and its kind's default both fail, so the controller never throws. */
import type { Candidate, HealthResult, PluginKind, StrategyInput } from "./types.ts";

/** The default plugin of each kind: it takes over when another plugin of that kind fails. Backends have none. */
export const DEFAULT_FALLBACKS: Readonly<Partial<Record<PluginKind, string>>> = {
  strategy: "oldest",
  health: "ready",
  exporter: "prometheus",
};

/** The documented default rule (earliest creation, ties by pod name), used only if `oldest` itself fails. */
export function lastResortRanking(input: StrategyInput): string[] {
  const byAge = (a: Candidate, b: Candidate) =>
    a.pod.createdAt - b.pod.createdAt || a.pod.name.localeCompare(b.pod.name);
  return [...input.candidates].sort(byAge).map((c) => c.pod.uid);
}

/**
 * Candidates reaching a health check are already Ready in Kubernetes, so when no checker can answer the pod
 * keeps the verdict Kubernetes gave it rather than failing every leader over because of a plugin bug.
 */
export function lastResortHealth(failure: string): HealthResult {
  return { healthy: true, reason: `Ready per Kubernetes (${failure})` };
}
