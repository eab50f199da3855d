/**
 * The data path end to end: a client in its own namespace opens a fresh connection to the leader's ClusterIP every
 * 10 ms through the real kube-proxy (nftables), and reaches only the leader; after each kind of failover
 * (readiness loss, deletion, a killed server found by the HTTP check, the pod's veth down) it reaches the new
 * leader, and no other pod answers once kube-proxy programmed the change. Nothing is left behind.
 */
import assert from "node:assert/strict";
import { noSanitize } from "../e2e/_env.ts";
import { waitFor } from "../e2e/_reads.ts";
import { P99_BOUND_MS } from "../../bench/dataplane_report.ts";
import { announceSkip } from "./capability.ts";
import { Cast, HTTP_CHECK } from "./cast.ts";
import type { ClientLog } from "./client_log.ts";
import { currentLeader, FAULT_KINDS } from "./failover.ts";
import { type Lab, startLab } from "./lab.ts";
import { namespacesWithPrefix } from "./netns.ts";

const skip = announceSkip("the data-plane e2e");

Deno.test({
  name: "data plane: clients through kube-proxy follow the leader",
  ignore: skip !== undefined,
  ...noSanitize,
  async fn(t) {
    let lab: Lab | undefined;
    let prefix = "";
    try {
      lab = await startLab({ pods: 3 });
      prefix = lab.topology.netns.nameOf("");
      const cast = await Cast.start(lab);
      const clusterIP = await lab.createService({ "zen-lead.io/health-check": HTTP_CHECK });
      const client: ClientLog = lab.startClient("fresh", clusterIP, 80, 10);

      await t.step("only the leader answers", async () => {
        const leader = await cast.leader();
        const start = performance.timeOrigin + performance.now();
        await new Promise((r) => setTimeout(r, 1500));
        await client.poll();
        // Allow kube-proxy its first sync of the new Service: count from the first answer on.
        const answered = client.records.filter((r) => r.pod);
        assert.ok(
          answered.length > 0,
          `expected answers through ${clusterIP}, found ${client.records.length} errors`,
        );
        const firstOk = answered[0].s;
        const later = client.records.filter((r) => r.s > firstOk && r.s > start - 10_000);
        const others = later.filter((r) => r.pod !== leader.name);
        assert.deepEqual(others, [], `expected only ${leader.name} to answer, found others`);
        assert.ok(
          later.length >= 50,
          `expected >= 50 answers in 1.5 s at one per 10 ms, found ${later.length}`,
        );
      });

      for (const kind of FAULT_KINDS) {
        await t.step(`after ${kind} of the leader the client reaches the new leader`, async () => {
          const s = await cast.failover(client, kind);
          console.log(
            `${kind}: ${s.from} -> ${s.to}: first answer from the new leader ${
              s.totalMs.toFixed(0)
            } ms after the ` +
              `fault (controller ${s.controllerMs.toFixed(0)} ms, kube-proxy ${
                s.kubeProxyMs?.toFixed(0)
              } ms), ` +
              `${s.failed} failed, ${s.oldLeaderAnswers} from the old leader before the sync`,
          );
          assert.notEqual(s.to, s.from);
          assert.equal(
            s.nonLeaderAfterSync,
            0,
            `expected no answer from a non-leader after kube-proxy synced`,
          );
          assert.ok(
            s.kubeProxyMs !== undefined,
            "expected kube-proxy to record the change's programming latency",
          );
          const bound = P99_BOUND_MS[kind];
          assert.ok(s.totalMs <= bound, `expected the new leader within ${bound} ms, found ${s.totalMs} ms`);
        });
      }
      await t.step("an established connection stays with the old leader after readiness loss", async () => {
        const leader = await cast.leader();
        const long = lab!.startClient("long", clusterIP, 9000, 100, 3000);
        await waitFor(`the long-lived connection answered by ${leader.name}`, async () => {
          await long.poll();
          return long.records.some((r) => r.pod === leader.name) || undefined;
        });
        await lab!.kubelet.setPodReady(lab!.ns, leader.name, false);
        const moved = await waitFor("the leader to move", async () => {
          const now = await currentLeader(lab!);
          return now && now !== leader.name ? now : undefined;
        });
        await client.poll();
        const switchedAt = client.records.find((r) => r.pod === moved)?.e ?? Date.now();
        await new Promise((r) => setTimeout(r, 2000));
        await long.poll();
        await long.stop();
        const after = long.records.filter((r) => r.s > switchedAt + 500);
        // kube-proxy routes new connections only; TCP conntrack keeps this one on the old pod (see README).
        assert.ok(
          after.length >= 10,
          `expected the open connection to keep answering, found ${after.length}`,
        );
        assert.deepEqual(new Set(after.map((r) => r.pod)), new Set([leader.name]));
        await lab!.kubelet.setPodReady(lab!.ns, leader.name, true);
      });
    } finally {
      await lab?.stop();
    }
    assert.deepEqual(namespacesWithPrefix(prefix), [], "expected every namespace of the run to be deleted");
  },
});
