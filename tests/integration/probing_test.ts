/**
 * The http and grpc checkers against real servers on loopback addresses (Linux routes all of 127/8 to lo, so
 * each server gets its own "pod IP"), alone and driven by the probe scheduler on the real clock.
 */
import assert from "node:assert/strict";
import { ProbeScheduler } from "../../core/probing/scheduler.ts";
import { DEFAULT_SCHEDULE } from "../../core/probing/spec.ts";
import type { HealthChecker, HealthResult, PodView } from "../../core/plugin/types.ts";
import { GrpcHealthChecker, httpChecker, type HttpCheckSpec } from "../../health/mod.ts";
import type { GrpcProber } from "../../health/grpc_prober.ts";
import { startGrpcTarget } from "../e2e/_servers.ts";
import { podView } from "../harness/pod_view.ts";

const HTTP_IP = "127.0.0.21";
const HTTPS_IP = "127.0.0.22";
const SILENT_IP = "127.0.0.23";
const CLOSED_IP = "127.0.0.24";
const GRPC_IP = "127.0.0.25";

function pod(ip: string, ports: PodView["ports"] = []): PodView {
  return podView(`pod-${ip}`, { namespace: "it", uid: `uid-${ip}`, ip, ports });
}

function httpSpec(over: Partial<HttpCheckSpec> & Pick<HttpCheckSpec, "port">): HttpCheckSpec {
  return { scheme: "http", path: "/healthz", expectedStatus: { min: 200, max: 399 }, headers: {}, ...over };
}

/** A signal that never aborts, for checks whose outcome does not depend on time. */
const forever = new AbortController().signal;

/** A port on `ip` with nothing listening: bound once by us, then released. */
function closedPort(ip: string): number {
  const l = Deno.listen({ hostname: ip, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A self-signed certificate for a pod IP, made with the openssl CLI the cluster harness also relies on. */
async function selfSignedCert(ip: string): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "zen-lead-health-" });
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=zen-lead-test-pod",
        "-addext",
        `subjectAltName=IP:${ip}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`openssl failed: ${new TextDecoder().decode(out.stderr)}`);
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("http checker against real servers", async (t) => {
  const seen: { path: string; probeHeader: string | null }[] = [];
  let status = 200;
  const server = Deno.serve({ hostname: HTTP_IP, port: 0, onListen() {} }, (req) => {
    seen.push({ path: new URL(req.url).pathname, probeHeader: req.headers.get("x-probe") });
    return new Response(status === 204 ? null : "body", { status });
  });
  const port = server.addr.port;
  const target = pod(HTTP_IP, [{ name: "web", port, protocol: "TCP" }]);

  await t.step("200 is healthy; the path and headers reach the pod", async () => {
    const r = await httpChecker.check(target, httpSpec({ port, headers: { "X-Probe": "zen" } }), forever);
    assert.deepEqual(r, { healthy: true, reason: "HTTP 200" });
    assert.deepEqual(seen.at(-1), { path: "/healthz", probeHeader: "zen" });
  });

  await t.step("500 is unhealthy, with the status and the expected range", async () => {
    status = 500;
    const r = await httpChecker.check(target, httpSpec({ port }), forever);
    assert.deepEqual(r, { healthy: false, reason: "HTTP 500 (expected 200-399)" });
  });

  await t.step("a custom expected status range is honoured", async () => {
    status = 204;
    const exact = await httpChecker.check(
      target,
      httpSpec({ port, expectedStatus: { min: 204, max: 204 } }),
      forever,
    );
    assert.equal(exact.healthy, true);
    const other = await httpChecker.check(
      target,
      httpSpec({ port, expectedStatus: { min: 200, max: 200 } }),
      forever,
    );
    assert.deepEqual(other, { healthy: false, reason: "HTTP 204 (expected 200-200)" });
    status = 200;
  });

  await t.step("a named port resolves against the pod's container ports", async () => {
    const r = await httpChecker.check(target, httpSpec({ port: "web" }), forever);
    assert.deepEqual(r, { healthy: true, reason: "HTTP 200" });
  });

  await t.step("an unknown port name is unhealthy with a clear reason, and nothing is sent", async () => {
    const before = seen.length;
    const r = await httpChecker.check(target, httpSpec({ port: "admin" }), forever);
    assert.deepEqual(r, {
      healthy: false,
      reason: `port name "admin" is not declared by pod it/pod-${HTTP_IP} (declared: web)`,
    });
    assert.equal(seen.length, before);
  });

  await server.shutdown();
});

Deno.test("http checker: https with a self-signed certificate is accepted", async () => {
  const { cert, key } = await selfSignedCert(HTTPS_IP);
  const server = Deno.serve(
    { hostname: HTTPS_IP, port: 0, cert, key, onListen() {} },
    () => new Response("ok"),
  );
  const r = await httpChecker.check(
    pod(HTTPS_IP),
    httpSpec({ scheme: "https", port: server.addr.port }),
    forever,
  );
  assert.deepEqual(r, { healthy: true, reason: "HTTP 200" });
  await server.shutdown();
});

Deno.test("http and grpc checkers reach an IPv6 pod IP", async () => {
  const server = Deno.serve({ hostname: "::1", port: 0, onListen() {} }, () => new Response("ok"));
  const r = await httpChecker.check(pod("::1"), httpSpec({ port: server.addr.port }), forever);
  assert.deepEqual(r, { healthy: true, reason: "HTTP 200" });
  await server.shutdown();
  const grpcServer = await startHealthServer("[::1]", { "": 1 });
  const checker = new GrpcHealthChecker();
  const g = await checker.check(
    pod("::1"),
    { port: grpcServer.port, service: "" },
    forever,
    Date.now() + 2000,
  );
  assert.deepEqual(g, { healthy: true, reason: "SERVING" });
  await checker.closeAll();
  await grpcServer.close();
});

Deno.test("http checker: a refused connection is unhealthy and says so", async () => {
  const port = closedPort(CLOSED_IP);
  const r = await httpChecker.check(pod(CLOSED_IP), httpSpec({ port }), forever);
  assert.deepEqual(r, { healthy: false, reason: `connection refused (http://${CLOSED_IP}:${port}/healthz)` });
});

Deno.test("scheduler + http checker: a server that never answers times out and is released", async () => {
  // Accepts connections and never writes a byte.
  const listener = Deno.listen({ hostname: SILENT_IP, port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const scheduler = new ProbeScheduler({ random: () => 0.99 });
  scheduler.upsert({
    podUID: "silent",
    serviceKey: "it/silent",
    role: "candidate",
    pod: pod(SILENT_IP),
    checker: httpChecker as HealthChecker,
    spec: httpSpec({ port: (listener.addr as Deno.NetAddr).port }),
    schedule: { ...DEFAULT_SCHEDULE, timeoutMs: 300, candidateIntervalMs: 60_000 },
    type: "http",
  });
  const r = await scheduler.probeNow("it/silent", "silent");
  assert.deepEqual(r, { healthy: false, reason: "timeout after 300ms" });
  assert.equal(scheduler.state("it/silent", "silent")?.healthy, false);
  assert.equal(held.length, 1, "the check did connect");
  scheduler.close();
  listener.close();
  await accepting.catch(() => {});
  for (const c of held) c.close();
});

// ---- gRPC ----

/**
 * A grpc.health.v1 server whose answer per service name the test controls, in a process of its own: grpc-js
 * client and server in one Deno process can abort it (see health/grpc_prober.ts). Unknown names: NOT_FOUND.
 */
function startHealthServer(ip: string, statuses: Record<string, number | "hang">) {
  return startGrpcTarget(ip.replace(/^\[(.*)\]$/, "$1"), statuses);
}

Deno.test("grpc checker against a real grpc.health.v1 server", async (t) => {
  const server = await startHealthServer(GRPC_IP, {
    "": 1,
    "down.Service": 2,
    "odd.Service": 3,
    "slow.Service": "hang",
  });
  const checker = new GrpcHealthChecker();
  const target = pod(GRPC_IP, [{ name: "grpc", port: server.port, protocol: "TCP" }]);
  const soon = () => Date.now() + 2000;

  await t.step("SERVING is healthy", async () => {
    assert.deepEqual(await checker.check(target, { port: server.port, service: "" }, forever, soon()), {
      healthy: true,
      reason: "SERVING",
    });
  });

  await t.step("NOT_SERVING and SERVICE_UNKNOWN are unhealthy, naming the service", async () => {
    assert.deepEqual(
      await checker.check(target, { port: "grpc", service: "down.Service" }, forever, soon()),
      {
        healthy: false,
        reason: `NOT_SERVING (service "down.Service")`,
      },
    );
    const odd = await checker.check(target, { port: "grpc", service: "odd.Service" }, forever, soon());
    assert.deepEqual(odd, { healthy: false, reason: `SERVICE_UNKNOWN (service "odd.Service")` });
  });

  await t.step("a call error is unhealthy with the gRPC status", async () => {
    const r = await checker.check(target, { port: server.port, service: "nope" }, forever, soon());
    assert.deepEqual(r, {
      healthy: false,
      reason: `gRPC NOT_FOUND: unknown service (${GRPC_IP}:${server.port})`,
    });
  });

  await t.step("a server that never answers hits the deadline", async () => {
    const r = await checker.check(
      target,
      { port: server.port, service: "slow.Service" },
      forever,
      Date.now() + 300,
    );
    assert.equal(r.healthy, false);
    assert.match(r.reason, /^timeout \(gRPC DEADLINE_EXCEEDED/);
  });

  await t.step("an abort cancels the call and reports the abort's reason", async () => {
    const c = new AbortController();
    const pending = checker.check(target, { port: server.port, service: "slow.Service" }, c.signal);
    setTimeout(() => c.abort(new DOMException("timeout after 200ms", "TimeoutError")), 200);
    assert.deepEqual(await pending, { healthy: false, reason: "timeout after 200ms" });
  });

  await t.step("an unknown port name is unhealthy without a call", async () => {
    const r = await checker.check(target, { port: "health", service: "" }, forever, soon());
    assert.equal(r.healthy, false);
    assert.match(r.reason, /port name "health" is not declared/);
  });

  await t.step("one channel per address in the prober process, closed on release", async () => {
    const prober = checker.transport as GrpcProber;
    assert.equal(await prober.openChannels(), 1);
    checker.release(target, { port: server.port, service: "" });
    assert.equal(await prober.openChannels(), 0);
  });

  await t.step("a crashed prober process is restarted and the check in flight is retried", async () => {
    const prober = checker.transport as GrpcProber;
    const pid = prober.pid!;
    const pending = checker.check(
      target,
      { port: server.port, service: "slow.Service" },
      forever,
      Date.now() + 1500,
    );
    await new Promise((r) => setTimeout(r, 200));
    Deno.kill(pid, "SIGKILL");
    const r = await pending;
    assert.match(
      r.reason,
      /^timeout \(gRPC DEADLINE_EXCEEDED/,
      "answered by the new process at the deadline",
    );
    assert.equal(prober.restarts, 1);
    assert.notEqual(prober.pid, pid);
    assert.deepEqual(await checker.check(target, { port: server.port, service: "" }, forever, soon()), {
      healthy: true,
      reason: "SERVING",
    });
  });

  await checker.closeAll();
  await server.close();
});

Deno.test("grpc checker: a refused connection is unhealthy with UNAVAILABLE", async () => {
  const port = closedPort(CLOSED_IP);
  const checker = new GrpcHealthChecker();
  const r = await checker.check(pod(CLOSED_IP), { port, service: "" }, forever, Date.now() + 2000);
  assert.equal(r.healthy, false);
  assert.match(r.reason, /^gRPC UNAVAILABLE: .*127\.0\.0\.24/);
  await checker.closeAll();
});

Deno.test("scheduler + grpc checker: the leader turns unhealthy after failureThreshold and recovers", async () => {
  const server = await startHealthServer(GRPC_IP, { "": 1 });
  const checker = new GrpcHealthChecker();
  const scheduler = new ProbeScheduler();
  const transitions: [boolean, string][] = [];
  let notify: () => void = () => {};
  scheduler.onTransition((_svc, _uid, healthy, reason) => {
    transitions.push([healthy, reason]);
    notify();
  });
  // A guard, not a timing assertion: a missing transition fails the test instead of hanging it.
  const nextTransition = () =>
    new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no transition after ${transitions.length}`)), 15_000);
      notify = () => {
        clearTimeout(guard);
        resolve();
      };
    });
  scheduler.upsert({
    podUID: "g1",
    serviceKey: "it/grpc",
    role: "leader",
    pod: pod(GRPC_IP),
    checker: checker as HealthChecker,
    spec: { port: server.port, service: "" },
    schedule: {
      ...DEFAULT_SCHEDULE,
      intervalMs: 100,
      timeoutMs: 500,
      failureThreshold: 2,
      successThreshold: 2,
    },
    type: "grpc",
  });
  let next = nextTransition();
  await next;
  assert.deepEqual(transitions, [[true, "SERVING"]]);

  next = nextTransition();
  await server.setStatus("", 2);
  await next;
  assert.deepEqual(transitions[1], [false, "NOT_SERVING"]);
  assert.equal(scheduler.state("it/grpc", "g1")?.consecutiveFailures, 2);

  next = nextTransition();
  await server.setStatus("", 1);
  await next;
  assert.deepEqual(transitions[2], [true, "SERVING"]);
  assert.equal(scheduler.state("it/grpc", "g1")?.consecutiveSuccesses, 2);

  scheduler.remove("g1", "it/grpc");
  assert.equal(
    await (checker.transport as GrpcProber).openChannels(),
    0,
    "removing the target released its channel",
  );
  scheduler.close();
  await checker.closeAll();
  await server.close();
});

Deno.test("real results flow through probeNow unchanged", async () => {
  const server = Deno.serve(
    { hostname: HTTP_IP, port: 0, onListen() {} },
    () => new Response("no", { status: 503 }),
  );
  const scheduler = new ProbeScheduler({ random: () => 0.99 });
  scheduler.upsert({
    podUID: "h1",
    serviceKey: "it/http",
    role: "candidate",
    pod: pod(HTTP_IP),
    checker: httpChecker as HealthChecker,
    spec: httpSpec({ port: server.addr.port }),
    schedule: { ...DEFAULT_SCHEDULE, candidateIntervalMs: 60_000 },
    type: "http",
  });
  const r: HealthResult = await scheduler.probeNow("it/http", "h1");
  assert.deepEqual(r, { healthy: false, reason: "HTTP 503 (expected 200-399)" });
  scheduler.close();
  await server.shutdown();
});
