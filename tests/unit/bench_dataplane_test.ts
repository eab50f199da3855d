import assert from "node:assert/strict";
import { formatDataplaneTable, kindReport, P99_BOUND_MS } from "../../bench/dataplane_report.ts";
import type { FailoverSample, FaultKind } from "../../tests/dataplane/failover.ts";

function sample(kind: FaultKind, totalMs: number, extra: Partial<FailoverSample> = {}): FailoverSample {
  return {
    kind,
    from: "web-0",
    to: "web-1",
    faultAt: 0,
    sliceAt: 10,
    triggerAt: 5,
    programmedAt: 30,
    firstNewAt: totalMs,
    totalMs,
    controllerMs: 10,
    kubeProxyMs: 20,
    nonLeaderAfterSync: 0,
    failed: 0,
    oldLeaderAnswers: 1,
    ...extra,
  };
}

Deno.test("bench:dataplane report: per kind distributions, sums, and the p99 bound", () => {
  const samples = [
    ...Array.from({ length: 9 }, (_, i) => sample("readiness", 40 + i)),
    sample("readiness", 1600, { failed: 3, nonLeaderAfterSync: 1, kubeProxyMs: undefined }),
    sample("killed", 2000, { failed: 150 }),
  ];
  const r = kindReport("readiness", samples);
  assert.equal(r.n, 10);
  assert.deepEqual([r.total_ms.p50, r.total_ms.p90, r.total_ms.p99, r.total_ms.max], [44, 48, 1600, 1600]);
  assert.equal(r.kube_proxy_ms.count, 9, "a failover without a kube-proxy figure is left out of its share");
  assert.equal(r.failed_requests, 3);
  assert.equal(r.non_leader_after_sync, 1);
  assert.equal(r.old_leader_before_sync, 10);
  assert.equal(r.p99_bound_ms, P99_BOUND_MS.readiness);
  assert.equal(r.p99_within_bound, false, "1600 ms is over the 1.5 s bound");
  const killed = kindReport("killed", samples);
  assert.equal(killed.p99_within_bound, true, "2 s is within the killed server's 3 s");
  const table = formatDataplaneTable({ readiness: r, killed });
  assert.match(table, /\| readiness lost \| 10 \| 44 \/ 48 \/ 1600 \/ 1600 ms \|/);
  assert.match(table, /\| server killed \(HTTP 1 s x 2\) \| 1 \|/);
});
