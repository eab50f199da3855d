/** What the kernel answers with when a plugin and its kind's default both fail, so the controller never throws. */
import type { HealthResult, PluginKind, StrategyInput } from "./types.ts";

/** The default plugin of each kind: it takes over when another plugin of that kind fails. Backends have none. */
export const DEFAULT_FALLBACKS: Readonly<Partial<Record<PluginKind, string>>> = {
  strategy: "oldest",
  health: "ready",
  exporter: "prometheus",
};

/**
 * Ranks the candidates when the default strategy itself fails: the `oldest` strategy's own ranking, handed in by
 * the composition root (core/ does not import strategies/), so both always pick the same pod.
 */
export type LastResortRanking = (input: StrategyInput) => readonly string[];

/**
 * Candidates reaching a health check are already Ready in Kubernetes, so when no checker can answer the pod
 * keeps the verdict Kubernetes gave it rather than failing every leader over because of a plugin bug.
 */
export function lastResortHealth(failure: string): HealthResult {
  return { healthy: true, reason: `Ready per Kubernetes (${failure})` };
}
