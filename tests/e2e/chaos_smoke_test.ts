/**
 * The short version of `deno task chaos` that CI runs: 5 Services x 3 pods, one round of each scenario (a)-(e)
 * with two replicas under their own ServiceAccounts; no wrong leader after convergence, no lost failover, and no
 * write to a managed object by a replica that did not hold the Lease (from the API server's audit log).
 */
import assert from "node:assert/strict";
import { runChaos, table } from "../chaos/main.ts";
import { e2eTest } from "./_env.ts";

e2eTest("chaos (short): API server kill, replica kill, etcd pause, partition, pod churn", async () => {
  const r = await runChaos({
    services: 5,
    pods: 3,
    rounds: 1,
    scenarios: ["apiserver", "replica", "etcd", "partition", "churn"],
    longOutageS: 20,
    etcdPauseS: 5,
  });
  console.log(table(r));
  for (const s of r.scenarios) {
    assert.equal(s.rounds, 1);
    assert.equal(s.wrongLeaders, 0, `${s.scenario}: wrong leaders after convergence`);
    assert.equal(s.lostFailovers, 0, `${s.scenario}: lost failovers`);
  }
  assert.deepEqual(r.audit.nonHolderWrites, [], "writes by a replica that did not hold the Lease");
  assert.ok(r.audit.managedWrites > 0, "the audit log saw the replicas' writes (the check is not vacuous)");
});
