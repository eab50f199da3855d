import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../core/kube/client.ts";
import { isAlreadyExists, isConflict, isGone, isNotFound, KubeApiError } from "../../core/kube/errors.ts";
import { Leases, pathResource, Pods, resourcePath, Services } from "../../core/kube/paths.ts";
import { retryDelay } from "../../core/kube/retry.ts";
import type { Pod } from "../../core/kube/types.ts";
import { decodeJsonLines } from "../../core/kube/watch_stream.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";

/** A plain-HTTP stand-in for the API server's wire behaviour (status codes, headers), not a Kubernetes fake. */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (client: KubeClient, metrics: MetricsRegistry, seen: Request[]) => Promise<void>,
  clientOpts: { timeoutMs?: number } = {},
): Promise<void> {
  const seen: Request[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    seen.push(req.clone());
    return handler(req);
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${server.addr.port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "secret-token" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  const metrics = new MetricsRegistry();
  const client = await KubeClient.fromKubeConfig(kc, {
    metrics,
    retryBaseMs: 1,
    retryMaxMs: 5,
    random: () => 0,
    ...clientOpts,
  });
  try {
    await fn(client, metrics, seen);
  } finally {
    client.close();
    await server.shutdown();
  }
}

function status(
  code: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ kind: "Status", status: "Failure", code, reason, message }, {
    status: code,
    headers,
  });
}

const pod: Pod = { metadata: { namespace: "ns", name: "p" } };

Deno.test("resourcePath builds core, grouped, cluster-wide and subresource paths", () => {
  assert.equal(resourcePath(Pods, "ns", "p"), "/api/v1/namespaces/ns/pods/p");
  assert.equal(resourcePath(Pods), "/api/v1/pods");
  assert.equal(
    resourcePath(Leases, "kube-system", "x"),
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x",
  );
  assert.equal(resourcePath(Services, "ns", "s", "status"), "/api/v1/namespaces/ns/services/s/status");
  assert.throws(() => resourcePath(Pods, "", "p"), /Pod "p": a namespace is required/);
  assert.equal(pathResource("/apis/discovery.k8s.io/v1/namespaces/a/endpointslices"), "endpointslices");
  assert.equal(pathResource("/api/v1/nodes"), "nodes");
});

Deno.test("retryDelay: 429 honours Retry-After for any method; 5xx and network errors only when idempotent", () => {
  const err = (status: number, retryAfterSeconds?: number) =>
    new KubeApiError({
      operation: "op",
      method: "X",
      path: "/",
      status,
      reason: "r",
      serverMessage: "m",
      retryAfterSeconds,
    });
  const ctx = {
    idempotent: true,
    retries: 0,
    maxRetries: 3,
    backoff: { baseMs: 100, maxMs: 1000 },
    maxRetryAfterMs: 30_000,
    random: () => 0,
  };
  assert.equal(retryDelay(err(429, 3), { ...ctx, idempotent: false }), 3000);
  assert.equal(retryDelay(err(429, 3600), ctx), 30_000, "Retry-After is capped");
  assert.equal(retryDelay(err(503), ctx), 100);
  assert.equal(retryDelay(err(503), { ...ctx, retries: 2 }), 400);
  assert.equal(retryDelay(err(503), { ...ctx, idempotent: false }), undefined);
  assert.equal(retryDelay(err(0), ctx), 100);
  assert.equal(retryDelay(err(409), ctx), undefined);
  assert.equal(retryDelay(err(404), ctx), undefined);
  assert.equal(retryDelay(err(503), { ...ctx, retries: 3 }), undefined, "no retry beyond maxRetries");
});

Deno.test("a GET that gets 503 then 200 is retried, and the retry metrics count it", async () => {
  let calls = 0;
  await withServer(
    () => ++calls < 3 ? status(503, "ServiceUnavailable", "etcd leader changed") : Response.json(pod),
    async (client, metrics, seen) => {
      const got = await client.get<Pod>(Pods, "ns", "p");
      assert.equal(got.metadata.name, "p");
      assert.equal(calls, 3);
      assert.equal(seen[0].headers.get("authorization"), "Bearer secret-token");
      assert.equal(
        metrics.counter({ name: "zen_lead_retry_attempts_total", help: "", labelNames: ["operation"] }).get({
          operation: "get_pods",
        }),
        2,
      );
      assert.equal(
        metrics.counter({
          name: "zen_lead_retry_success_after_retry_total",
          help: "",
          labelNames: ["operation"],
        })
          .get({ operation: "get_pods" }),
        1,
      );
      assert.equal(
        metrics.histogram({ name: "zen_lead_api_call_duration_seconds", help: "", labelNames: ["operation"] })
          .snapshot({ operation: "get_pods" }).count,
        3,
      );
    },
  );
});

Deno.test("a POST that gets 503 is not retried; a POST that gets 429 with Retry-After is", async () => {
  let calls = 0;
  await withServer(
    (req) => {
      calls++;
      if (new URL(req.url).pathname.endsWith("/pods")) {
        return calls === 1
          ? status(429, "TooManyRequests", "slow down", { "Retry-After": "0" })
          : Response.json(pod);
      }
      return status(503, "ServiceUnavailable", "try later");
    },
    async (client) => {
      assert.equal((await client.create(Pods, pod)).metadata.name, "p");
      assert.equal(calls, 2);
      await assert.rejects(client.create(Services, { metadata: { namespace: "ns", name: "s" } }), (e) => {
        assert.ok(e instanceof KubeApiError);
        assert.equal(e.status, 503);
        return true;
      });
      assert.equal(calls, 3, "the POST to services was sent once");
    },
  );
});

Deno.test("errors carry the operation and the server's message; 404/409 predicates tell them apart", async () => {
  await withServer(
    (req) => {
      const path = new URL(req.url).pathname;
      if (path.endsWith("/missing")) return status(404, "NotFound", 'pods "missing" not found');
      if (req.method === "PUT") return status(409, "Conflict", "the object has been modified");
      return status(409, "AlreadyExists", 'pods "p" already exists');
    },
    async (client) => {
      const notFound = await client.get(Pods, "ns", "missing").catch((e) => e);
      assert.ok(isNotFound(notFound) && !isConflict(notFound));
      assert.match(
        notFound.message,
        /^get_pods \(GET \/api\/v1\/namespaces\/ns\/pods\/missing\) failed: HTTP 404 NotFound: pods "missing" not found$/,
      );
      const conflict = await client.replace(Pods, pod).catch((e) => e);
      assert.ok(isConflict(conflict) && !isAlreadyExists(conflict));
      const exists = await client.create(Pods, pod).catch((e) => e);
      assert.ok(isAlreadyExists(exists) && !isConflict(exists));
    },
  );
});

Deno.test("mergePatch sends a merge patch to the subresource", async () => {
  await withServer(
    () => Response.json(pod),
    async (client, _m, seen) => {
      await client.mergePatch(Services, "ns", "s", { metadata: { labels: { a: null } } }, {
        subresource: "status",
      });
      assert.equal(seen[0].method, "PATCH");
      assert.equal(seen[0].headers.get("content-type"), "application/merge-patch+json");
      assert.equal(new URL(seen[0].url).pathname, "/api/v1/namespaces/ns/services/s/status");
      assert.deepEqual(await seen[0].json(), { metadata: { labels: { a: null } } });
    },
  );
});

Deno.test("a request with no answer fails with a Timeout error after the per-call timeout and retries", async () => {
  let calls = 0;
  await withServer(
    async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 300));
      return Response.json(pod);
    },
    async (client) => {
      const err = await client.get(Pods, "ns", "p", { timeoutMs: 50, maxRetries: 1 }).catch((e) => e);
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.reason, "Timeout");
      assert.equal(err.status, 0);
      assert.match(err.message, /no answer within 50ms/);
      assert.equal(calls, 2);
    },
  );
});

Deno.test("watch yields events split across chunks and turns an ERROR 410 event into a Gone error", async () => {
  const lines = [
    JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "5" } } }),
    JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "7" } } }),
    JSON.stringify({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version: 1 (7)" },
    }),
  ].join("\n") + "\n";
  await withServer(
    (req) => {
      assert.equal(new URL(req.url).searchParams.get("watch"), "true");
      const bytes = new TextEncoder().encode(lines);
      return new Response(
        new ReadableStream({
          start(c) {
            for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
            c.close();
          },
        }),
      );
    },
    async (client) => {
      const seen: string[] = [];
      const err = await (async () => {
        for await (
          const ev of client.watch<Pod>(
            "/api/v1/namespaces/ns/pods",
            { resourceVersion: "1" },
            new AbortController().signal,
          )
        ) {
          seen.push(`${ev.type}:${ev.object.metadata.resourceVersion}`);
        }
      })().catch((e) => e);
      assert.deepEqual(seen, ["ADDED:5", "BOOKMARK:7"]);
      assert.ok(isGone(err), String(err));
      assert.match(err.message, /watch_pods .* too old resource version/);
    },
  );
});

Deno.test("decodeJsonLines reports a line that is not JSON", async () => {
  async function* chunks() {
    yield new TextEncoder().encode('{"a":1}\nnot json\n');
  }
  const out: unknown[] = [];
  await assert.rejects(async () => {
    for await (const v of decodeJsonLines(chunks())) out.push(v);
  }, /expected one JSON object per line, received "not json"/);
  assert.deepEqual(out, [{ a: 1 }]);
});
