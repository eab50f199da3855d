/**
 * The health-check e2e of issue 6 on real pod IPs (issue 17): every pod is a server in its own network
 * namespace whose Pod status carries that namespace's address, and the controller probes it from its own
 * namespace, as it would in a cluster. Where this cannot run (not root, no nft, ...) it is skipped with the
 * reason; tests/e2e/health_test.ts covers the same checks on this machine's address there.
 */
import assert from "node:assert/strict";
import { Services } from "../../core/kube/paths.ts";
import type { Service } from "../../core/kube/types.ts";
import { eventsFor, HTTP_PORT, noSanitize, optedInService, routedPods, waitFor } from "../e2e/_env.ts";
import { sample } from "../e2e/_metrics.ts";
import { type GrpcTarget, SERVING_STATUS, startGrpcTarget } from "../e2e/_servers.ts";
import { announceSkip } from "./capability.ts";
import { type Lab, startLab } from "./lab.ts";
import { namespacesWithPrefix } from "./netns.ts";
import { type NsHttpTarget, startNsHttpTarget } from "./targets.ts";
import type { PodSlot } from "./topology.ts";

const skip = announceSkip("the health e2e on real pod IPs");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAST = {
  intervalSeconds: 0.5,
  failureThreshold: 2,
  timeoutSeconds: 0.3,
  candidateIntervalSeconds: 0.5,
};
const httpCheck = () => JSON.stringify({ type: "http", port: "http", path: "/healthz", ...FAST });

/** Pods web-0, web-1 (a second apart: web-0 is the oldest) in fresh slots, Service `web`; web-0 routed. */
async function app(
  lab: Lab,
  prefix: string,
  slots: PodSlot[],
  ports: (slot: PodSlot) => { name: string; containerPort: number }[],
  annotations: Record<string, string>,
): Promise<string> {
  const ns = await lab.cluster.newNamespace(prefix);
  for (const [i, slot] of slots.entries()) {
    if (i > 0) await sleep(1001);
    await lab.createPodObject(ns, slot, `web-${i}`, ports(slot));
  }
  await lab.client.create<Service>(Services, optedInService(ns, "web", { annotations }));
  await waitFor(
    "web-0 routed",
    async () => (await routedPods(lab.client, ns, "web-leader"))?.[0] === "web-0" || undefined,
  );
  return ns;
}

async function failedOver(lab: Lab, what: string, ns: string, t0: number, boundMs: number): Promise<string> {
  const to = await waitFor(`leader moved off web-0`, async () => {
    const r = await routedPods(lab.client, ns, "web-leader");
    return r?.length && r[0] !== "web-0" ? r[0] : undefined;
  }, boundMs + 5000);
  const ms = performance.now() - t0;
  console.log(`${what} on a real pod IP: leader web-0 -> ${to} in ${ms.toFixed(0)} ms (bound ${boundMs} ms)`);
  assert.ok(ms <= boundMs, `${what}: failover took ${ms.toFixed(0)} ms, more than ${boundMs} ms`);
  return to;
}

async function leaderChangedMessage(lab: Lab, ns: string): Promise<string> {
  return await waitFor("a LeaderChanged event", async () => {
    const ev = await eventsFor(lab.client, ns, "web");
    return ev.find((e) => e.reason === "LeaderChanged")?.message;
  });
}

Deno.test({
  name: "health checks on real pod IPs in network namespaces",
  ignore: skip !== undefined,
  ...noSanitize,
  async fn(t) {
    let lab: Lab | undefined;
    let prefix = "";
    const targets: (NsHttpTarget | GrpcTarget)[] = [];
    const http = async (mode: Parameters<typeof startNsHttpTarget>[1] = "ok") => {
      const slot = await lab!.topology.addSlot();
      const target = await startNsHttpTarget(slot, mode);
      targets.push(target);
      return { slot, target };
    };
    try {
      lab = await startLab({ pods: 0 });
      prefix = lab.topology.netns.nameOf("");
      const l = lab;

      await t.step(
        "HTTP 500, default schedule: probed every 1 s, failover within 1 s x 3 + 1 s",
        async () => {
          const [a, b] = [await http(), await http()];
          const ns = await app(l, "http500", [a.slot, b.slot], () => HTTP_PORT, {
            "zen-lead.io/health-check": "http:http/healthz",
          });
          const from = Date.now();
          await sleep(3000);
          const probes = a.target.hits.filter((h) => h >= from).length;
          assert.ok(probes >= 2 && probes <= 5, `leader probed ${probes} times in 3 s at a 1 s interval`);
          const t0 = performance.now();
          await a.target.setMode("fail");
          assert.equal(await failedOver(l, "HTTP 500", ns, t0, 1000 * 3 + 1000), "web-1");
          assert.match(await leaderChangedMessage(l, ns), /http check of pod web-0 failed: HTTP 500/);
          const metrics = await l.controllerMetrics();
          assert.ok(
            sample(metrics, "zen_lead_failover_count_total", { namespace: ns, reason: "unhealthy" }) >= 1,
          );
        },
      );

      await t.step("a leader that stops answering (timeout): failover within 0.5 s x 2 + 1 s", async () => {
        const [a, b] = [await http(), await http()];
        const ns = await app(l, "timeout", [a.slot, b.slot], () => HTTP_PORT, {
          "zen-lead.io/health-check": httpCheck(),
        });
        await sleep(1000);
        const t0 = performance.now();
        await a.target.setMode("hang");
        assert.equal(await failedOver(l, "timeout", ns, t0, 500 * 2 + 1000), "web-1");
        assert.match(
          await leaderChangedMessage(l, ns),
          /http check of pod web-0 failed: timeout after 300ms/,
        );
      });

      await t.step("a leader that refuses connections: failover within 0.5 s x 2 + 1 s", async () => {
        const [a, b] = [await http(), await http()];
        const ns = await app(l, "refused", [a.slot, b.slot], () => HTTP_PORT, {
          "zen-lead.io/health-check": httpCheck(),
        });
        await sleep(1000);
        const t0 = performance.now();
        await a.target.down();
        assert.equal(await failedOver(l, "connection refused", ns, t0, 500 * 2 + 1000), "web-1");
        assert.match(await leaderChangedMessage(l, ns), /http check of pod web-0 failed: connection refused/);
      });

      await t.step("a pod whose network is gone (veth down): failover within 0.5 s x 2 + 1 s", async () => {
        const [a, b] = [await http(), await http()];
        const ns = await app(l, "netgone", [a.slot, b.slot], () => HTTP_PORT, {
          "zen-lead.io/health-check": httpCheck(),
        });
        await sleep(1000);
        const t0 = performance.now();
        await l.topology.setLink(a.slot, false);
        assert.equal(await failedOver(l, "veth down", ns, t0, 500 * 2 + 1000), "web-1");
        assert.match(
          await leaderChangedMessage(l, ns),
          /http check of pod web-0 failed: timeout after 300ms/,
        );
      });

      await t.step("a flapping leader (200, 500, 200, ...) keeps leading", async () => {
        const [a, b] = [await http(), await http()];
        const ns = await app(l, "flap", [a.slot, b.slot], () => HTTP_PORT, {
          "zen-lead.io/health-check": httpCheck(),
        });
        await a.target.setMode("flap");
        const from = Date.now();
        for (const end = Date.now() + 3000; Date.now() < end; await sleep(100)) {
          assert.deepEqual(await routedPods(l.client, ns, "web-leader"), ["web-0"], "routing moved");
        }
        const probes = a.target.hits.filter((h) => h >= from).length;
        assert.ok(probes >= 4, `expected the flapping leader probed >= 4 times in 3 s, found ${probes}`);
      });

      await t.step("gRPC NOT_SERVING: failover within 0.5 s x 2 + 1 s", async () => {
        const slots = [await l.topology.addSlot(), await l.topology.addSlot()];
        const grpc: GrpcTarget[] = [];
        for (const slot of slots) {
          const g = await startGrpcTarget(slot.ip, { "app.Health": SERVING_STATUS.SERVING }, {
            netns: slot.ns,
          });
          grpc.push(g);
          targets.push(g);
        }
        const ns = await app(l, "grpc", slots, (slot) => [
          ...HTTP_PORT,
          { name: "grpc", containerPort: grpc[slots.indexOf(slot)].port },
        ], {
          "zen-lead.io/health-check": JSON.stringify({
            type: "grpc",
            port: "grpc",
            service: "app.Health",
            ...FAST,
          }),
        });
        await sleep(1000);
        const t0 = performance.now();
        await grpc[0].setStatus("app.Health", SERVING_STATUS.NOT_SERVING);
        assert.equal(await failedOver(l, "gRPC NOT_SERVING", ns, t0, 500 * 2 + 1000), "web-1");
        assert.match(await leaderChangedMessage(l, ns), /grpc check of pod web-0 failed: NOT_SERVING/);
      });
    } finally {
      for (const target of targets) await target.close().catch(() => {});
      await lab?.stop();
    }
    assert.deepEqual(namespacesWithPrefix(prefix), [], "expected every namespace of the run to be deleted");
  },
});
