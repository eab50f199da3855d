/** Age order of candidates, shared by the `oldest`, `newest` and `node-aware` strategies. */
import type { Candidate } from "../mod.ts";

export type AgeOrder = "oldest" | "newest";
export const AGE_ORDERS: readonly AgeOrder[] = ["oldest", "newest"];

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A total order by pod creation time (earliest first for `oldest`, latest first for `newest`), ties broken by
 * pod name and then UID, so the result never depends on the order the candidates arrive in.
 */
export function compareByAge(order: AgeOrder): (a: Candidate, b: Candidate) => number {
  const direction = order === "oldest" ? 1 : -1;
  return (a, b) =>
    direction * (a.pod.createdAt - b.pod.createdAt) || byText(a.pod.name, b.pod.name) ||
    byText(a.pod.uid, b.pod.uid);
}

/** Pod UIDs of `candidates` in age order. */
export function rankByAge(candidates: readonly Candidate[], order: AgeOrder): string[] {
  return [...candidates].sort(compareByAge(order)).map((c) => c.pod.uid);
}
