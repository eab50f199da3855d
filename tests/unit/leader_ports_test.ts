import assert from "node:assert/strict";
import { resolvePorts } from "../../core/leader/ports.ts";
import { pod } from "./_leader_fixtures.ts";

Deno.test("ports: named targetPort resolves on the pod; slice ports are named exactly as the Service's", () => {
  const r = resolvePorts([
    { name: "http", port: 80, targetPort: "http" },
    { name: "metrics", port: 9090, targetPort: 9091, protocol: "TCP" },
  ], pod({ ports: [{ name: "http", containerPort: 8080 }] }));
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.targets, [8080, 9091]);
  assert.deepEqual(r.endpointPorts, [
    { name: "http", port: 8080, protocol: "TCP" },
    { name: "metrics", port: 9091, protocol: "TCP" },
  ]);
});

Deno.test("ports: an unnamed single port gets the empty name; missing targetPort means the port", () => {
  const r = resolvePorts([{ port: 80 }], pod());
  assert.deepEqual(r.endpointPorts, [{ name: "", port: 80, protocol: "TCP" }]);
});

Deno.test("ports: a named port the pod does not declare fails closed with a message naming both", () => {
  const r = resolvePorts([{ name: "grpc", port: 9000, targetPort: "grpc" }], pod({ name: "p1" }));
  assert.equal(r.failures.length, 1);
  assert.equal(r.failures[0].named, true);
  assert.match(
    r.failures[0].message,
    /named port "grpc", which pod p1 does not declare \(declared: http=8080\)/,
  );
  assert.deepEqual(r.endpointPorts, []);
});

Deno.test("ports: the protocol must match for named ports", () => {
  const r = resolvePorts(
    [{ name: "dns", port: 53, targetPort: "dns", protocol: "UDP" }],
    pod({ ports: [{ name: "dns", containerPort: 5353, protocol: "TCP" }] }),
  );
  assert.equal(r.failures.length, 1);
});
