/** The health-check annotation parser: JSON and short forms, scheduling defaults and bounds. */
import assert from "node:assert/strict";
import { DEFAULT_SCHEDULE, HEALTH_CHECK_ANNOTATION, parseHealthCheck } from "../../core/probing/spec.ts";
import type { HealthChecker } from "../../core/plugin/types.ts";
import { GrpcHealthChecker, grpcSpecSchema, httpChecker, readyChecker } from "../../health/mod.ts";

const grpcChecker = new GrpcHealthChecker();
const checkers: Record<string, HealthChecker> = {
  ready: readyChecker as HealthChecker,
  http: httpChecker as HealthChecker,
  grpc: grpcChecker as HealthChecker,
};
const lookup = (type: string) => checkers[type];
const types = Object.keys(checkers);

function ok(text: string) {
  const r = parseHealthCheck(text, lookup, types);
  if (!r.ok) throw new Error(`expected ${text} to parse, got: ${r.error}`);
  return r.value;
}

function err(text: string): string {
  const r = parseHealthCheck(text, lookup, types);
  assert.equal(r.ok, false, `expected ${text} to be rejected`);
  return r.ok ? "" : r.error;
}

Deno.test("JSON http check: scheduling fields go to the kernel, the rest to the plugin with defaults", () => {
  const v = ok(
    `{"type":"http","port":8080,"path":"/healthz","intervalSeconds":2,"timeoutSeconds":0.5,` +
      `"failureThreshold":4,"successThreshold":2,"candidateIntervalSeconds":10}`,
  );
  assert.equal(v.type, "http");
  assert.equal(v.checker, httpChecker);
  assert.deepEqual(v.schedule, {
    intervalMs: 2000,
    timeoutMs: 500,
    failureThreshold: 4,
    successThreshold: 2,
    candidateIntervalMs: 10000,
  });
  assert.deepEqual(v.spec, {
    scheme: "http",
    port: 8080,
    path: "/healthz",
    expectedStatus: { min: 200, max: 399 },
    headers: {},
  });
});

Deno.test("defaults: 1 s interval and timeout, thresholds 3/1, candidates every 5 s", () => {
  assert.deepEqual(ok(`{"type":"ready"}`).schedule, DEFAULT_SCHEDULE);
  assert.deepEqual(ok("ready").schedule, {
    intervalMs: 1000,
    timeoutMs: 1000,
    failureThreshold: 3,
    successThreshold: 1,
    candidateIntervalMs: 5000,
  });
});

Deno.test("candidate interval is never shorter than the leader interval", () => {
  assert.equal(ok(`{"type":"ready","intervalSeconds":8}`).schedule.candidateIntervalMs, 8000);
});

Deno.test("short forms: http:8080/healthz, http:web, grpc:9090, grpc:9090/my.Service, ready", () => {
  assert.deepEqual(ok("http:8080/healthz").spec, {
    scheme: "http",
    port: 8080,
    path: "/healthz",
    expectedStatus: { min: 200, max: 399 },
    headers: {},
  });
  assert.equal((ok("http:web").spec as { port: unknown }).port, "web");
  assert.equal((ok("http:web").spec as { path: unknown }).path, "/");
  assert.deepEqual(ok("grpc:9090").spec, { port: 9090, service: "" });
  assert.deepEqual(ok("grpc:9090/my.Service").spec, { port: 9090, service: "my.Service" });
  assert.deepEqual(ok("  ready ").spec, {});
  assert.equal(ok("grpc:9090").checker, grpcChecker);
});

Deno.test("http expectedStatus accepts a code, a code string and a range", () => {
  const status = (s: string) =>
    (ok(`{"type":"http","port":80,"expectedStatus":${s}}`).spec as {
      expectedStatus: unknown;
    }).expectedStatus;
  assert.deepEqual(status("204"), { min: 204, max: 204 });
  assert.deepEqual(status(`"204"`), { min: 204, max: 204 });
  assert.deepEqual(status(`"200-299"`), { min: 200, max: 299 });
  assert.match(err(`{"type":"http","port":80,"expectedStatus":"299-200"}`), /min <= max/);
  assert.match(err(`{"type":"http","port":80,"expectedStatus":"2xx"}`), /expectedStatus/);
});

Deno.test("https scheme and headers are kept; a header value with a line break is rejected", () => {
  const spec = ok(`{"type":"http","scheme":"https","port":8443,"headers":{"X-Probe":"zen"}}`).spec as {
    scheme: string;
    headers: Record<string, string>;
  };
  assert.equal(spec.scheme, "https");
  assert.deepEqual(spec.headers, { "X-Probe": "zen" });
  assert.match(err(`{"type":"http","port":80,"headers":{"X":"a\\r\\nEvil: 1"}}`), /headers\.X/);
});

Deno.test("unknown type names the annotation, the bad value and the valid types", () => {
  const e = err("tcp:80");
  assert.match(e, new RegExp(HEALTH_CHECK_ANNOTATION.replace(/\./g, "\\.")));
  assert.match(e, /unknown health check type "tcp"/);
  assert.match(e, /"tcp:80"/);
  assert.match(e, /\[ready, http, grpc\]/);
  assert.match(err(`{"type":"tcp"}`), /\[ready, http, grpc\].*unknown health check type "tcp"/);
});

Deno.test("malformed JSON, non-object JSON and a missing type are reported", () => {
  assert.match(err(`{"type":"http",`), /malformed JSON/);
  assert.match(err(`{"port":80}`), /field "type" is missing/);
  assert.match(err(""), /empty value/);
});

Deno.test("bad scheduling values name the field and the expectation", () => {
  const e = err(`{"type":"http","port":80,"failureThreshold":0}`);
  assert.match(e, /failureThreshold/);
  assert.match(e, /failureThreshold: expected an integer from 1 to 100, received 0/);
  assert.match(e, /thresholds an integer from 1 to 100/);
  assert.match(
    err(`{"type":"http","port":80,"timeoutSeconds":3000000}`),
    /timeoutSeconds: expected a number from 0\.01 to 600 seconds, received 3000000/,
  );
  assert.match(
    err(`{"type":"http","port":80,"intervalSeconds":1e400}`),
    /intervalSeconds: expected a number from 0\.1 to 3600 seconds, received Infinity/,
  );
  assert.match(err(`{"type":"http","port":80,"intervalSeconds":"1s"}`), /intervalSeconds/);
  assert.match(err(`{"type":"http","port":80,"successThreshold":1.5}`), /successThreshold/);
});

Deno.test("plugin fields are validated by the plugin schema; typos list the valid fields", () => {
  const e = err(`{"type":"http","port":80,"pth":"/x"}`);
  assert.match(e, /invalid http check/);
  assert.match(e, /unknown field "pth"/);
  assert.match(e, /fields \[type, intervalSeconds.*scheme, port, path, expectedStatus, headers\]/);
  assert.match(err(`{"type":"http","port":70000}`), /port/);
  assert.match(err(`{"type":"http","port":"Not_A_Name"}`), /port/);
  assert.match(err(`{"type":"http","port":80,"path":"healthz"}`), /path.*starting with "\/"/);
  assert.match(err(`{"type":"grpc"}`), /invalid grpc check: missing field "port"/);
});

Deno.test("short-form mistakes: missing port, argument for ready", () => {
  assert.match(err("http:"), /invalid short form for type "http"/);
  assert.match(err("grpc:/my.Service"), /invalid short form for type "grpc"/);
  assert.match(err("ready:now"), /type "ready" takes no argument/);
  assert.match(err(`{"type":"ready","port":80}`), /type "ready" takes no fields of its own but got \[port\]/);
});

Deno.test("grpc spec schema keeps a named port for resolution at check time", () => {
  assert.deepEqual(ok(`{"type":"grpc","port":"grpc-health","service":"a.B"}`).spec, {
    port: "grpc-health",
    service: "a.B",
  });
  assert.ok(grpcSpecSchema);
});
