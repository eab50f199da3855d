/**
 * What each leader must be, computed from the API server's objects alone: the `<svc>-leader` EndpointSlice of an
 * opted-in Service routes to exactly one eligible pod of its selector (Running, Ready, an IP, not terminating),
 * or to none when no pod is eligible. Stickiness means any eligible pod may be the leader, so the checker asks
 * for one, not for a particular one.
 */
import type { EndpointSlice, Pod, Service } from "../../core/kube/types.ts";

export interface LeaderProblem {
  service: string;
  problem: string;
}

function eligible(p: Pod): boolean {
  return p.status?.phase === "Running" && !!p.status?.podIP && !p.metadata.deletionTimestamp &&
    (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

/** Every opted-in Service of `services` whose leader slice does not route as it must. */
export function leaderProblems(services: Service[], pods: Pod[], slices: EndpointSlice[]): LeaderProblem[] {
  const problems: LeaderProblem[] = [];
  const sliceByName = new Map(slices.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  for (const svc of services) {
    if (svc.metadata.annotations?.["zen-lead.io/enabled"] !== "true") continue;
    const ns = svc.metadata.namespace ?? "";
    const key = `${ns}/${svc.metadata.name}`;
    const candidates = pods.filter((p) =>
      p.metadata.namespace === ns && selects(svc.spec?.selector ?? {}, p.metadata.labels)
    );
    const good = new Map(candidates.filter(eligible).map((p) => [p.metadata.uid, p]));
    const slice = sliceByName.get(`${ns}/${svc.metadata.name}-leader`);
    if (!slice) {
      problems.push({ service: key, problem: "no leader EndpointSlice" });
      continue;
    }
    const endpoints = slice.endpoints ?? [];
    if (good.size === 0) {
      if (endpoints.length > 0) {
        problems.push({ service: key, problem: "routes although no pod is eligible" });
      }
      continue;
    }
    if (endpoints.length !== 1) {
      problems.push({ service: key, problem: `expected 1 endpoint, found ${endpoints.length}` });
      continue;
    }
    const ep = endpoints[0];
    const pod = good.get(ep.targetRef?.uid);
    if (!pod) {
      problems.push({
        service: key,
        problem: `routes to ${ep.targetRef?.name ?? "?"}, which is not eligible`,
      });
    } else if (ep.addresses?.[0] !== pod.status?.podIP) {
      problems.push({
        service: key,
        problem: `routes to ${ep.addresses?.[0]}, ${pod.metadata.name} has ${pod.status?.podIP}`,
      });
    }
  }
  return problems;
}
