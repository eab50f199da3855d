/** The figures of `deno task bench:dataplane`: plain functions from failover samples to the report. */
import type { FailoverSample, FaultKind } from "../tests/dataplane/failover.ts";
import { type Distribution, distribution, round } from "./stats.ts";

/**
 * Bounds on the p99 from fault to the first answer from the new leader: the 1.5 s and 3 s; for veth
 * down (no bound in the issue) the HTTP check's worst case, interval x failures + the 0.5 s timeout, + 1 s.
 */
export const P99_BOUND_MS: Record<FaultKind, number> = {
  readiness: 1500,
  deletion: 1500,
  killed: 3000,
  vethDown: 3500,
};

export interface KindReport {
  n: number;
  /** Fault to the first successful answer from the new leader. */
  total_ms: Distribution;
  /** Fault to the leader EndpointSlice routing to the new leader (detection + reconcile + write). */
  controller_ms: Distribution;
  /** That slice change to kube-proxy's programmed rules (its network-programming metric). */
  kube_proxy_ms: Distribution;
  /** Answers from a non-leader to requests started after kube-proxy synced: must be 0. */
  non_leader_after_sync: number;
  /** Answers from the old leader before kube-proxy synced (expected while the old rules stand). */
  old_leader_before_sync: number;
  /** Requests started after the fault that failed (refused, reset, timed out). */
  failed_requests: number;
  p99_bound_ms: number;
  p99_within_bound: boolean;
}

function rounded(d: Distribution): Distribution {
  return {
    count: d.count,
    p50: round(d.p50),
    p90: round(d.p90),
    p99: round(d.p99),
    max: round(d.max),
    mean: round(d.mean),
  };
}

export function kindReport(kind: FaultKind, samples: readonly FailoverSample[]): KindReport {
  const mine = samples.filter((s) => s.kind === kind);
  const total = rounded(distribution(mine.map((s) => s.totalMs)));
  return {
    n: mine.length,
    total_ms: total,
    controller_ms: rounded(distribution(mine.map((s) => s.controllerMs))),
    kube_proxy_ms: rounded(
      distribution(mine.flatMap((s) => s.kubeProxyMs === undefined ? [] : [s.kubeProxyMs])),
    ),
    non_leader_after_sync: mine.reduce((a, s) => a + s.nonLeaderAfterSync, 0),
    old_leader_before_sync: mine.reduce((a, s) => a + s.oldLeaderAnswers, 0),
    failed_requests: mine.reduce((a, s) => a + s.failed, 0),
    p99_bound_ms: P99_BOUND_MS[kind],
    p99_within_bound: total.p99 <= P99_BOUND_MS[kind],
  };
}

const KIND_LABEL: Record<FaultKind, string> = {
  readiness: "readiness lost",
  deletion: "pod deleted",
  killed: "server killed (HTTP 1 s x 2)",
  vethDown: "veth down (HTTP 1 s x 2)",
};

export function kindLabel(kind: FaultKind): string {
  return KIND_LABEL[kind];
}

/** A Markdown table, one row per kind, as the README shows it. */
export function formatDataplaneTable(kinds: Partial<Record<FaultKind, KindReport>>): string {
  const rows = [
    "| failover | n | fault to first answer from the new leader p50 / p90 / p99 / max | controller p50 / p99 | " +
    "kube-proxy p50 / p99 | non-leader after sync | failed requests |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [kind, r] of Object.entries(kinds) as [FaultKind, KindReport][]) {
    const t = r.total_ms;
    rows.push(
      `| ${KIND_LABEL[kind]} | ${r.n} | ${t.p50} / ${t.p90} / ${t.p99} / ${t.max} ms | ` +
        `${r.controller_ms.p50} / ${r.controller_ms.p99} ms | ${r.kube_proxy_ms.p50} / ${r.kube_proxy_ms.p99} ms | ` +
        `${r.non_leader_after_sync} | ${r.failed_requests} |`,
    );
  }
  return rows.join("\n");
}
