import assert from "node:assert/strict";
import { KubeClient } from "../../core/kube/client.ts";
import { KubeApiError } from "../../core/kube/errors.ts";
import { Leases } from "../../core/kube/paths.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";

/**
 * A raw TCP server speaking just enough HTTP/1.1: it answers the first request of each connection with a
 * keep-alive 200 and never answers any later one, so the second call of a client runs on a reused connection
 * that is open and silent (what a paused etcd or a one-way partition looks like from the client).
 */
function silentAfterFirst() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  let requests = 0;
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        let answered = false;
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          if (!new TextDecoder().decode(buf.subarray(0, n)).includes("\r\n\r\n")) continue;
          requests++;
          if (answered) continue; // accepted and read, never answered
          answered = true;
          const body = JSON.stringify({ kind: "Lease", metadata: { name: "x", namespace: "ns" } });
          await conn.write(new TextEncoder().encode(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
              `connection: keep-alive\r\n\r\n${body}`,
          ));
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => conns.length,
    requests: () => requests,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

function clientFor(port: number): Promise<KubeClient> {
  return KubeClient.fromCredentials({
    server: new URL(`http://127.0.0.1:${port}`),
    tls: {},
    authHeaders: () => Promise.resolve({ Authorization: "Bearer t" }),
    describe: "test",
  }, { metrics: new MetricsRegistry(), maxRetries: 0 });
}

Deno.test("a request on a reused keep-alive connection that never answers ends at its timeout", async () => {
  const server = silentAfterFirst();
  const client = await clientFor(server.port);
  try {
    await client.get(Leases, "ns", "x", { timeoutMs: 5_000 });
    assert.equal(server.connections(), 1);
    const started = performance.now();
    const error = await client.get(Leases, "ns", "x", { timeoutMs: 300 }).then(
      () => undefined,
      (e) => e,
    );
    const tookMs = performance.now() - started;
    assert.ok(error instanceof KubeApiError, `expected a KubeApiError, received ${error}`);
    assert.equal(error.reason, "Timeout");
    assert.equal(server.requests(), 2, "the second request reached the server");
    assert.equal(server.connections(), 1, "the second request went over the first, reused connection");
    // The server would hold it for ever; the bound is generous for a loaded CI machine.
    assert.ok(tookMs < 3_000, `expected the call to end near its 300 ms timeout, it took ${tookMs} ms`);
  } finally {
    client.close();
    server.close();
  }
});

Deno.test("a caller's abort ends a request on a reused connection at once", async () => {
  const server = silentAfterFirst();
  const client = await clientFor(server.port);
  try {
    await client.get(Leases, "ns", "x");
    const abort = new AbortController();
    const started = performance.now();
    setTimeout(() => abort.abort(new Error("caller gave up")), 200);
    await assert.rejects(
      client.get(Leases, "ns", "x", { signal: abort.signal, timeoutMs: 60_000 }),
      /caller gave up/,
    );
    assert.equal(server.connections(), 1);
    assert.ok(performance.now() - started < 3_000);
  } finally {
    client.close();
    server.close();
  }
});
