/**
 * Health checks on a real API server, with real HTTP and gRPC servers behind the pods. Where this machine allows
 * network namespaces (root, nft: tests/dataplane/capability.ts) every pod is a server in its own namespace with
 * that namespace's address as its pod IP and the controller probes it from its own; elsewhere the
 * pods share this machine's address and differ by port (see _servers.ts for why not 127.0.0.x), and the
 * pod-IP-only case is skipped with the reason.
 * The leader turns unhealthy (HTTP 500, gRPC NOT_SERVING, a timeout, a refused connection) and leadership moves
 * within interval x failureThreshold + 1 s (measured and printed); a flapping leader keeps leading; fail-mode
 * open and closed; probing stops when the Service opts out; invalid health annotations keep routing.
 */
import assert from "node:assert/strict";
import { Services } from "../../core/kube/paths.ts";
import { dataplaneUnsupported } from "../dataplane/capability.ts";
import { startPodIpHealthEnv } from "../dataplane/health_env.ts";
import { e2eTest } from "./_env.ts";
import { eventOf, eventsFor, getService, routedPods, waitFor } from "./_reads.ts";
import { createOptedIn, HTTP_PORT } from "./_fixtures.ts";
import { type HealthEnv, type HealthHttpTarget, startHostHealthEnv } from "./_health_env.ts";
import { sample } from "./_metrics.ts";
import { type GrpcTarget, SERVING_STATUS } from "./_servers.ts";

const noPodIPs = dataplaneUnsupported();
if (noPodIPs) {
  console.error(`[health e2e] real pod IPs skipped (${noPodIPs}): the checks run on this machine's address`);
}
let env: HealthEnv;

e2eTest("setup: control plane, RBAC from deploy/, controller under its ServiceAccount", async () => {
  env = noPodIPs ? await startHostHealthEnv() : await startPodIpHealthEnv();
  console.log(`health e2e on ${env.where}`);
});

/** One sample of the controller's metrics (summed over labels not given). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return sample(await env.metrics(), name, labels);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fast schedule so each case takes seconds: leader and candidates every 0.5 s, 2 failures fail over. */
const FAST = {
  intervalSeconds: 0.5,
  failureThreshold: 2,
  timeoutSeconds: 0.3,
  candidateIntervalSeconds: 0.5,
};

function httpCheck(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: "http", port: "http", path: "/healthz", ...FAST, ...extra });
}

interface App {
  ns: string;
  uids: string[];
}

/**
 * Pods web-0.. (a second apart, so web-0 is the oldest and leads first) with the given IPs and container ports,
 * and Service `web` with the annotations; resolves once web-0 routes.
 */
async function app(
  prefix: string,
  pods: { ip: string; ports: { name: string; containerPort: number }[] }[],
  annotations: Record<string, string>,
): Promise<App> {
  const ns = await env.newNamespace(prefix);
  const uids: string[] = [];
  for (const [i, p] of pods.entries()) {
    const pod = await env.kubelet.createPod(ns, {
      name: `web-${i}`,
      labels: { app: "web" },
      ip: p.ip,
      ports: p.ports,
    });
    uids.push(pod.metadata!.uid!);
    if (i < pods.length - 1) await sleep(1001);
  }
  await createOptedIn(env.client, ns, "web", { annotations });
  await waitFor(
    "web-0 routed",
    async () => (await routedPods(env.client, ns, "web-leader"))?.join() === "web-0" || undefined,
  );
  return { ns, uids };
}

/** Runs `fn` with `n` HTTP targets and their pods; the targets are closed afterwards, whatever happens. */
async function withHttpTargets(
  n: number,
  fn: (t: Awaited<ReturnType<typeof httpTargets>>) => Promise<void>,
): Promise<void> {
  const got = await httpTargets(n);
  try {
    await fn(got);
  } finally {
    for (const t of got.targets) await t.close();
  }
}

/** `n` HTTP servers, and pods declaring their server's port as their `http` port. */
async function httpTargets(
  n: number,
): Promise<{ targets: HealthHttpTarget[]; pods: Parameters<typeof app>[1] }> {
  const targets: HealthHttpTarget[] = [];
  for (let i = 0; i < n; i++) targets.push(await env.httpTarget());
  return {
    targets,
    pods: targets.map((t) => ({ ip: t.ip, ports: [{ name: "http", containerPort: t.port }] })),
  };
}

/**
 * Waits for leadership to leave `from` (to a routed pod), prints the time since `t0` and checks it against the
 * issue's bound: interval x failureThreshold + 1 s.
 */
async function failedOver(
  what: string,
  ns: string,
  from: string,
  t0: number,
  boundMs: number,
): Promise<string> {
  const to = await waitFor(`leader moved off ${from}`, async () => {
    const r = await routedPods(env.client, ns, "web-leader");
    return r?.length && r[0] !== from ? r[0] : undefined;
  }, boundMs + 5000);
  const ms = performance.now() - t0;
  console.log(`${what}: leader ${from} -> ${to} in ${ms.toFixed(0)} ms (bound ${boundMs} ms)`);
  assert.ok(ms <= boundMs, `${what}: failover took ${ms.toFixed(0)} ms, more than ${boundMs} ms`);
  return to;
}

async function leaderChanged(ns: string, match: RegExp) {
  return await eventOf(env.client, ns, "web", "LeaderChanged", match);
}

/** Routing stays exactly `names` for `ms` (polled every 100 ms). */
async function staysRouted(ns: string, names: string[], ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.deepEqual(await routedPods(env.client, ns, "web-leader"), names, `routing of ${ns} moved`);
    await sleep(100);
  }
}

/** Opts `web` out and waits until the controller probes none of its pods (their checker channels released). */
async function optOutAndWaitForProbesToStop(ns: string): Promise<void> {
  await env.client.mergePatch(Services, ns, "web", {
    metadata: { annotations: { "zen-lead.io/enabled": null } },
  });
  await waitFor(
    "leader Service gone",
    async () => (await getService(env.client, ns, "web-leader")) ? undefined : true,
  );
  // A check already in flight may still land.
  await sleep(300);
}

/**
 * Waits until the controller holds `pod` unhealthy: from its probe state when it runs in this process, else
 * once the target answered failureThreshold failing checks (and the last answer had time to arrive).
 */
async function unhealthy(pod: string, target: HealthHttpTarget, key: string, uid: string): Promise<void> {
  if (env.probeState) {
    const state = env.probeState;
    await waitFor(`${pod} unhealthy`, () => Promise.resolve(state(key, uid)?.healthy === false || undefined));
    return;
  }
  const since = Date.now();
  await waitFor(
    `${pod} probed ${FAST.failureThreshold} times while failing`,
    () => Promise.resolve(hitsBetween(target, since, Date.now()) >= FAST.failureThreshold || undefined),
  );
  await sleep(200);
}

function hitsBetween(t: { hits: number[] }, from: number, to: number): number {
  return t.hits.filter((at) => at >= from && at < to).length;
}

e2eTest(
  "HTTP 500 with the default schedule: probed every 1 s, failover within 1 s x 3 + 1 s, event names the check",
  async () => {
    await withHttpTargets(2, async ({ targets, pods }) => {
      // The short form; interval 1 s and failureThreshold 3 are the defaults.
      const { ns } = await app("http500", pods, { "zen-lead.io/health-check": "http:http/healthz" });
      const from = Date.now();
      await sleep(3000);
      const probes = hitsBetween(targets[0], from, Date.now());
      const candidateProbes = hitsBetween(targets[1], from, Date.now());
      console.log(
        `HTTP 500: in 3 s the leader was probed ${probes} times (interval 1 s), the candidate ${candidateProbes} ` +
          `(candidate interval 5 s)`,
      );
      assert.ok(probes >= 2 && probes <= 5, `leader probed ${probes} times in 3 s at a 1 s interval`);
      assert.ok(candidateProbes <= 1, `candidate probed ${candidateProbes} times in 3 s at a 5 s cadence`);
      const before = await metric("zen_lead_health_checks_total", {
        plugin: "http",
        result: "unhealthy",
      });

      const t0 = performance.now();
      await targets[0].setMode("fail");
      assert.equal(await failedOver("HTTP 500", ns, "web-0", t0, 1000 * 3 + 1000), "web-1");
      const ev = await leaderChanged(ns, /web-1/);
      assert.match(ev.message, /reason: unhealthy \(http check of pod web-0 failed: HTTP 500/);
      assert.ok(
        (await metric("zen_lead_health_checks_total", {
          plugin: "http",
          result: "unhealthy",
        })) >=
          before + 3,
      );
      assert.equal(
        await metric("zen_lead_failover_count_total", { namespace: ns, reason: "unhealthy" }),
        1,
      );
      assert.ok(
        (await metric("zen_lead_health_check_duration_seconds_count", { plugin: "http" })) > 0,
      );
      // Failover latency runs from the failed probe's transition to the acknowledged slice write.
      assert.ok(
        (await metric("zen_lead_failover_latency_seconds_count", { reason: "unhealthy" })) >=
          1,
      );
    });
  },
);

e2eTest("gRPC NOT_SERVING: failover within 0.5 s x 2 + 1 s, event names the check", async () => {
  const targets: GrpcTarget[] = [];
  let ns = "";
  try {
    for (let i = 0; i < 2; i++) {
      targets.push(await env.grpcTarget({ "app.Health": SERVING_STATUS.SERVING }));
    }
    ({ ns } = await app(
      "grpc",
      targets.map((t) => ({ ip: t.ip, ports: [...HTTP_PORT, { name: "grpc", containerPort: t.port }] })),
      {
        "zen-lead.io/health-check": JSON.stringify({
          type: "grpc",
          port: "grpc",
          service: "app.Health",
          ...FAST,
        }),
      },
    ));
    await sleep(1000);
    const t0 = performance.now();
    await targets[0].setStatus("app.Health", SERVING_STATUS.NOT_SERVING);
    assert.equal(await failedOver("gRPC NOT_SERVING", ns, "web-0", t0, 500 * 2 + 1000), "web-1");
    const ev = await leaderChanged(ns, /web-1/);
    assert.match(ev.message, /grpc check of pod web-0 failed: NOT_SERVING/);
    assert.ok(
      (await metric("zen_lead_health_checks_total", { plugin: "grpc", result: "healthy" })) >
        0,
    );
    assert.ok(
      (await metric("zen_lead_health_checks_total", {
        plugin: "grpc",
        result: "unhealthy",
      })) >= 2,
    );
  } finally {
    if (ns) await optOutAndWaitForProbesToStop(ns);
    for (const t of targets) await t.close();
  }
});

/** Faults of the leader's HTTP server: each fails over within 0.5 s x 2 + 1 s, the Event naming the cause. */
const HTTP_FAULTS: {
  name: string;
  prefix: string;
  ignore?: boolean;
  fault: (target: HealthHttpTarget) => Promise<void>;
  what: string;
  message: RegExp;
}[] = [{
  name: "a leader that stops answering (timeout): failover within 0.5 s x 2 + 1 s",
  prefix: "timeout",
  fault: (t) => t.setMode("hang"),
  what: "timeout",
  message: /http check of pod web-0 failed: timeout after 300ms/,
}, {
  name: "a leader that refuses connections: failover within 0.5 s x 2 + 1 s",
  prefix: "refused",
  fault: (t) => t.down(),
  what: "connection refused",
  message: /http check of pod web-0 failed: connection refused/,
}, {
  name: "a pod whose network is gone (veth down, real pod IPs only): failover within 0.5 s x 2 + 1 s",
  prefix: "netgone",
  ignore: noPodIPs !== undefined,
  fault: (t) => env.cutNetwork!(t),
  what: "network gone",
  message: /http check of pod web-0 failed: timeout after 300ms/,
}];

for (const f of HTTP_FAULTS) {
  e2eTest(f.name, { ignore: f.ignore ?? false }, async () => {
    await withHttpTargets(2, async ({ targets, pods }) => {
      const { ns } = await app(f.prefix, pods, { "zen-lead.io/health-check": httpCheck() });
      await sleep(1000);
      const t0 = performance.now();
      await f.fault(targets[0]);
      assert.equal(await failedOver(f.what, ns, "web-0", t0, 500 * 2 + 1000), "web-1");
      const ev = await leaderChanged(ns, /web-1/);
      assert.match(ev.message, f.message);
    });
  });
}

e2eTest("a flapping leader (200, 500, 200, ...) keeps leading: leadership does not flap", async () => {
  await withHttpTargets(2, async ({ targets, pods }) => {
    const { ns } = await app("flap", pods, { "zen-lead.io/health-check": httpCheck() });
    await targets[0].setMode("flap");
    const from = Date.now();
    await staysRouted(ns, ["web-0"], 4000);
    const probes = hitsBetween(targets[0], from, Date.now());
    console.log(`flapping leader: probed ${probes} times in 4 s (interval 0.5 s), never moved`);
    assert.ok(probes >= 6, `the flapping leader was probed only ${probes} times in 4 s`);
    const ev = await eventsFor(env.client, ns, "web");
    assert.ok(!ev.some((e) => e.reason === "LeaderChanged"), JSON.stringify(ev.map((e) => e.message)));
  });
});

e2eTest(
  "every candidate failing: fail-mode open keeps the Ready leader, closed routes nowhere; opting out stops probes",
  async () => {
    await withHttpTargets(2, async ({ targets, pods }) => {
      const { ns, uids } = await app("failmode", pods, { "zen-lead.io/health-check": httpCheck() });
      const key = `${ns}/web`;
      // The candidate first, so the leader has nowhere healthy to go when it fails too.
      await targets[1].setMode("fail");
      await unhealthy("web-1", targets[1], key, uids[1]);
      await targets[0].setMode("fail");
      await unhealthy("web-0", targets[0], key, uids[0]);
      // open (the default): the Kubernetes-Ready leader keeps routing.
      await staysRouted(ns, ["web-0"], 1500);

      await env.client.mergePatch(Services, ns, "web", {
        metadata: { annotations: { "zen-lead.io/health-fail-mode": "closed" } },
      });
      await waitFor(
        "endpoints []",
        async () => (await routedPods(env.client, ns, "web-leader"))?.length === 0 || undefined,
        5000,
      );
      await eventOf(
        env.client,
        ns,
        "web",
        "NoReadyPods",
        /every candidate failed its health check \(fail-mode closed\)/,
      );
      await staysRouted(ns, [], 1000);

      // A candidate that passes again is promoted (successThreshold 1).
      await targets[1].setMode("ok");
      await waitFor(
        "web-1 routed after recovery",
        async () => (await routedPods(env.client, ns, "web-leader"))?.join() === "web-1" || undefined,
        5000,
      );

      // Opting out: objects go, and no pod of the Service is probed any more.
      await env.client.mergePatch(Services, ns, "web", {
        metadata: { annotations: { "zen-lead.io/enabled": null } },
      });
      await waitFor(
        "leader Service gone",
        async () => (await getService(env.client, ns, "web-leader")) ? undefined : true,
      );
      if (env.probeState) {
        assert.equal(env.probeState(key, uids[0]), undefined);
        assert.equal(env.probeState(key, uids[1]), undefined);
      }
      await sleep(300); // a check already in flight may still land
      const quietFrom = Date.now();
      await sleep(1500);
      const late = targets.map((t) => hitsBetween(t, quietFrom, Date.now()));
      assert.deepEqual(late, [0, 0], "no probes after opt-out");
    });
  },
);

e2eTest("a candidate must pass successThreshold checks in a row before it is promoted", async () => {
  await withHttpTargets(2, async ({ targets, pods }) => {
    const { ns } = await app("success", pods, {
      "zen-lead.io/health-check": httpCheck({ successThreshold: 3 }),
      "zen-lead.io/health-fail-mode": "closed",
    });
    await targets[1].setMode("fail");
    await targets[0].setMode("fail");
    await waitFor(
      "endpoints []",
      async () => (await routedPods(env.client, ns, "web-leader"))?.length === 0 || undefined,
      5000,
    );

    const recoveredAt = Date.now();
    await targets[1].setMode("ok");
    await waitFor(
      "web-1 promoted",
      async () => (await routedPods(env.client, ns, "web-leader"))?.join() === "web-1" || undefined,
      5000,
    );
    const passed = hitsBetween(targets[1], recoveredAt, Date.now());
    console.log(`successThreshold 3: web-1 promoted after ${passed} passing checks`);
    assert.ok(passed >= 3, `promoted after ${passed} passing checks, successThreshold is 3`);
  });
});

e2eTest(
  "invalid health-check annotations keep routing and the last good check, with InvalidAnnotation",
  async () => {
    await withHttpTargets(2, async ({ targets, pods }) => {
      const { ns } = await app("badhealth", pods, { "zen-lead.io/health-check": httpCheck() });
      const invalid = async (value: string, match: RegExp) => {
        await env.client.mergePatch(Services, ns, "web", {
          metadata: { annotations: { "zen-lead.io/health-check": value } },
        });
        return await eventOf(env.client, ns, "web", "InvalidAnnotation", match);
      };
      const malformed = await invalid(`{"type":"http","port":`, /malformed JSON/);
      assert.equal(malformed.type, "Warning");
      assert.match(malformed.message, /zen-lead\.io\/health-check/);
      assert.match(malformed.message, /\{\\"type\\":\\"http\\",\\"port\\":/, "the bad value is quoted");
      assert.match(malformed.message, /expected JSON like/);
      const unknown = await invalid(
        JSON.stringify({ type: "tcp", port: 80 }),
        /unknown health check type "tcp"/,
      );
      assert.match(unknown.message, /one of the types \[grpc, http, ready\]/);
      await staysRouted(ns, ["web-0"], 1000);

      // The last good check still runs: the leader's failure still fails it over.
      const t0 = performance.now();
      await targets[0].setMode("fail");
      assert.equal(
        await failedOver("HTTP 500 under an invalid annotation", ns, "web-0", t0, 500 * 2 + 1000),
        "web-1",
      );
    });
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
