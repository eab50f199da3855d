import assert from "node:assert/strict";
import { KubeClient } from "../../core/kube/client.ts";
import { KubeLeaderApi } from "../../core/controller/kube_api.ts";
import { NotActiveError } from "../../core/controller/errors.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import type { EndpointSlice } from "../../core/kube/types.ts";

/** An HTTP stand-in for the API server's wire behaviour: every PUT gets 503 (a transient failure). */
async function withFlakyServer(fn: (client: KubeClient, puts: () => number) => Promise<void>) {
  let puts = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    if (req.method === "PUT") puts++;
    return Response.json({ kind: "Status", code: 503, reason: "ServiceUnavailable", message: "etcd down" }, {
      status: 503,
    });
  });
  const client = await KubeClient.fromCredentials({
    server: new URL(`http://127.0.0.1:${server.addr.port}`),
    tls: {},
    authHeaders: () => Promise.resolve({}),
    describe: "test",
  }, { metrics: new MetricsRegistry(), retryBaseMs: 1, retryMaxMs: 5, maxRetries: 3, random: () => 0 });
  try {
    await fn(client, () => puts);
  } finally {
    client.close();
    await server.shutdown();
  }
}

const slice: EndpointSlice = {
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { namespace: "ns", name: "web-leader", resourceVersion: "7" },
  addressType: "IPv4",
  endpoints: [],
};

Deno.test("a write whose replica stops leading between retries sends no further attempt", async () => {
  await withFlakyServer(async (client, puts) => {
    let leading = true;
    const api = new KubeLeaderApi(client, () => {
      if (!leading) throw new NotActiveError();
      leading = false; // leadership ends right after the first attempt was allowed
    });
    await assert.rejects(api.replaceSlice("ns", slice), NotActiveError);
    assert.equal(puts(), 1, "only the attempt made while leading reached the server");
  });
});

Deno.test("a write while leading is retried on 503 with the resourceVersion precondition kept", async () => {
  await withFlakyServer(async (client, puts) => {
    const api = new KubeLeaderApi(client, () => {});
    await assert.rejects(api.replaceSlice("ns", slice), /503|ServiceUnavailable|etcd down/);
    assert.equal(puts(), 4, "first attempt and three retries");
  });
});

Deno.test("a replica that does not lead sends nothing", async () => {
  await withFlakyServer(async (client, puts) => {
    const api = new KubeLeaderApi(client, () => {
      throw new NotActiveError();
    });
    await assert.rejects(api.createSlice("ns", slice), NotActiveError);
    await assert.rejects(api.deleteSlice("ns", "web-leader", "u1"), NotActiveError);
    assert.equal(puts(), 0);
  });
});
