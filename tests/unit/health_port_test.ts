import assert from "node:assert/strict";
import { hostPort, resolveProbePort } from "../../health/_port.ts";
import { abortReason } from "../../health/_abort.ts";
import type { PodView } from "../../core/plugin/types.ts";

const pod: PodView = {
  namespace: "shop",
  name: "api-0",
  uid: "u1",
  ip: "10.1.2.3",
  labels: {},
  annotations: {},
  createdAt: 0,
  ports: [{ name: "http", port: 8080, protocol: "TCP" }, { port: 9000, protocol: "TCP" }, {
    name: "grpc",
    port: 9090,
    protocol: "TCP",
  }],
};

Deno.test("a port number is used as is; a name resolves against the pod's container ports", () => {
  assert.deepEqual(resolveProbePort(pod, 1234), { ok: true, port: 1234 });
  assert.deepEqual(resolveProbePort(pod, "grpc"), { ok: true, port: 9090 });
});

Deno.test("an undeclared port name fails with the pod and the names it declares", () => {
  assert.deepEqual(resolveProbePort(pod, "metrics"), {
    ok: false,
    reason: `port name "metrics" is not declared by pod shop/api-0 (declared: http, grpc)`,
  });
  assert.match((resolveProbePort({ ...pod, ports: [] }, "x") as { reason: string }).reason, /declared: none/);
});

Deno.test("hostPort brackets IPv6", () => {
  assert.equal(hostPort("10.0.0.1", 80), "10.0.0.1:80");
  assert.equal(hostPort("fd00::1", 80), "[fd00::1]:80");
});

Deno.test("abortReason: the scheduler's timeout message, AbortSignal.timeout, plain aborts", () => {
  const c = new AbortController();
  c.abort(new DOMException("timeout after 1000ms", "TimeoutError"));
  assert.equal(abortReason(c.signal), "timeout after 1000ms");
  const t = new AbortController();
  t.abort(new DOMException("Signal timed out.", "TimeoutError"));
  assert.equal(abortReason(t.signal), "timeout (Signal timed out.)");
  const a = new AbortController();
  a.abort("stopping");
  assert.equal(abortReason(a.signal), "stopping");
});
