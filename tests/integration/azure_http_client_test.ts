/**
 * The ARM client's HTTP layer against loopback servers: a timeout is honoured on a reused keep-alive connection
 * and the request is sent exactly once; a refused connection is reported as refused; network failures are
 * retried only where a resend cannot duplicate a write.
 */
import assert from "node:assert/strict";
import type { HttpClient } from "@azure/core-rest-pipeline";
import { ArmClient } from "../../plugins/azure-servicegateway/arm/client.ts";
import { StaticTokenCredential } from "../../plugins/azure-servicegateway/arm/credential.ts";
import { ArmError } from "../../plugins/azure-servicegateway/arm/errors.ts";
import { NETWORK_CODES } from "../../plugins/azure-servicegateway/arm/fetch_client.ts";
import { mayResend } from "../../plugins/azure-servicegateway/arm/network_retry.ts";

function clientFor(endpoint: string, extra: { maxRetries?: number; httpClient?: HttpClient } = {}) {
  return new ArmClient({
    endpoint,
    apiVersion: "2025-05-01",
    credential: new StaticTokenCredential("t"),
    requestTimeoutMs: 300,
    lroTimeoutMs: 2_000,
    pollIntervalMs: 1,
    maxRetries: extra.maxRetries ?? 2,
    retryDelayMs: 1,
    maxRetryDelayMs: 5,
    maxThrottleWaitMs: 1_000,
    throttleAttempts: 1,
    httpClient: extra.httpClient,
  });
}

/** A server that answers GETs and holds the first POST until closed, recording which connection sent what. */
function holdingServer() {
  const seen: { method: string; port: number }[] = [];
  const held: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req, info) => {
    seen.push({ method: req.method, port: (info.remoteAddr as Deno.NetAddr).port });
    await req.text();
    if (req.method === "POST" && seen.filter((s) => s.method === "POST").length === 1) {
      await new Promise<void>((resolve) => held.push(resolve));
    }
    return Response.json({ value: [] });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    async close() {
      for (const release of held) release();
      await server.shutdown();
    },
  };
}

/** What the holding server saw for one client; exported for the comparison run against other HTTP clients. */
export async function holdFirstPostOnReusedConnection(httpClient?: HttpClient) {
  const server = holdingServer();
  const client = clientFor(server.url, { httpClient });
  try {
    await client.call("GET", "/warm", undefined, AbortSignal.timeout(5_000)); // opens the keep-alive connection
    const t0 = performance.now();
    const err = await client.call("POST", "/act", { x: 1 }, AbortSignal.timeout(10_000)).then(
      () => undefined,
      (e) => e,
    );
    const gaveUpAfterMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1_500)); // long enough for a re-send (~300 ms in node:http) to land
    return { err, gaveUpAfterMs, seen: [...server.seen] };
  } finally {
    await server.close();
  }
}

Deno.test("http client: a POST held on a reused connection times out at its timeout and is sent exactly once", async () => {
  const { err, gaveUpAfterMs, seen } = await holdFirstPostOnReusedConnection();
  const posts = seen.filter((s) => s.method === "POST");
  const get = seen.find((s) => s.method === "GET")!;
  assert.equal(posts.length, 1, `the server saw the POST ${posts.length} times: ${JSON.stringify(seen)}`);
  assert.equal(posts[0].port, get.port, "the POST went out on the connection the GET opened (reused)");
  assert.ok(err instanceof ArmError, String(err));
  assert.equal(err.code, NETWORK_CODES.timeout);
  assert.match(err.message, /no answer within 300ms/);
  assert.ok(gaveUpAfterMs >= 290 && gaveUpAfterMs < 1_200, `gave up after ${gaveUpAfterMs.toFixed(0)}ms`);
});

Deno.test("http client: a refused connection is reported as refused, at once, not as a timeout", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const t0 = performance.now();
  const err = await clientFor(`http://127.0.0.1:${port}`, { maxRetries: 1 })
    .call("GET", "/x", undefined, AbortSignal.timeout(5_000)).then(() => undefined, (e) => e);
  const ms = performance.now() - t0;
  assert.ok(err instanceof ArmError, String(err));
  assert.equal(err.code, NETWORK_CODES.refused);
  assert.match(err.message, /connection refused/);
  assert.doesNotMatch(err.message, /no answer within/);
  assert.ok(ms < 250, `reported after ${ms.toFixed(0)}ms, before the 300ms timeout`);
});

/** A raw TCP server that cuts off the first `resets` connections after reading the request, then answers. */
function resettingServer(resets: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  let connections = 0;
  (async () => {
    for await (const conn of listener) {
      const n = ++connections;
      (async () => {
        const buf = new Uint8Array(65536);
        const read = await conn.read(buf).catch(() => null);
        if (read) requests.push(new TextDecoder().decode(buf.subarray(0, read)).split(" ")[0]);
        if (n <= resets) return conn.close();
        const body = '{"value":[]}';
        await conn.write(new TextEncoder().encode(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
            `connection: close\r\n\r\n${body}`,
        )).catch(() => {});
        conn.close();
      })();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    close: () => listener.close(),
  };
}

Deno.test("http client: a read cut off is retried; a write cut off is not sent again", async () => {
  const reads = resettingServer(1);
  try {
    const res = await clientFor(reads.url).call("GET", "/x", undefined, AbortSignal.timeout(5_000));
    assert.equal(res.status, 200);
    assert.deepEqual(reads.requests, ["GET", "GET"]);
  } finally {
    reads.close();
  }
  const writes = resettingServer(1);
  try {
    const err = await clientFor(writes.url).call("POST", "/x", {}, AbortSignal.timeout(5_000)).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof ArmError && err.status === 0, String(err));
    assert.equal(err.code, NETWORK_CODES.reset);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(writes.requests, ["POST"], "the cut-off POST was sent once");
  } finally {
    writes.close();
  }
});

Deno.test("network retry rule: refused for any method; reset and timeout for reads only", () => {
  assert.equal(mayResend("POST", NETWORK_CODES.refused), true);
  assert.equal(mayResend("GET", NETWORK_CODES.reset), true);
  assert.equal(mayResend("GET", NETWORK_CODES.timeout), true);
  for (const m of ["POST", "PUT", "DELETE"]) {
    assert.equal(mayResend(m, NETWORK_CODES.reset), false, m);
    assert.equal(mayResend(m, NETWORK_CODES.timeout), false, m);
  }
  assert.equal(mayResend("GET", NETWORK_CODES.other), false);
});
