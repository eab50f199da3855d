/** KubeClient against a real API server: identity with a client certificate, CRUD semantics, errors, watch. */
import assert from "node:assert/strict";
import { CERT_ADMIN_USER, startCluster } from "../harness/cluster.ts";
import { KubeClient } from "../../core/kube/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../core/kube/errors.ts";
import { ConfigMaps, resourcePath } from "../../core/kube/paths.ts";
import type { ConfigMap, KubeObject } from "../../core/kube/types.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";

// The cluster's processes and keep-alive sockets outlive single steps by design.
const CLUSTER_TEST = { sanitizeOps: false, sanitizeResources: false };

interface SelfSubjectReview extends KubeObject {
  status?: { userInfo?: { username?: string; groups?: string[] } };
}

Deno.test({ name: "KubeClient on a real API server", ...CLUSTER_TEST }, async (t) => {
  await using cluster = await startCluster({ quiet: true });
  const metrics = new MetricsRegistry();

  await t.step("a client certificate authenticates as its CN under Deno's node:https", async () => {
    const client = await KubeClient.fromKubeConfig(cluster.certKubeConfig(), { metrics });
    try {
      const review = await client.request<SelfSubjectReview>({
        operation: "create_selfsubjectreviews",
        method: "POST",
        path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
      });
      // An anonymous request would be "system:anonymous" (or a 403): the certificate must have been sent.
      assert.equal(review.status?.userInfo?.username, CERT_ADMIN_USER);
      assert.ok(review.status?.userInfo?.groups?.includes("system:masters"));
    } finally {
      client.close();
    }
  });

  const client = await KubeClient.fromKubeConfig(cluster.kubeConfig(), { metrics });
  const ns = await cluster.newNamespace("kube-client");
  try {
    await t.step("create, get, optimistic replace, merge patch, apply, delete", async () => {
      const cm: ConfigMap = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { namespace: ns, name: "c" },
        data: { a: "1" },
      };
      const created = await client.create(ConfigMaps, cm);
      assert.ok(created.metadata.resourceVersion);
      assert.ok(isAlreadyExists(await client.create(ConfigMaps, cm).catch((e) => e)));

      const replaced = await client.replace(ConfigMaps, { ...created, data: { a: "2" } });
      const stale = await client.replace(ConfigMaps, { ...created, data: { a: "3" } }).catch((e) => e);
      assert.ok(isConflict(stale), `a PUT with the old resourceVersion must conflict, got ${stale}`);
      assert.match(stale.message, /replace_configmaps .* HTTP 409 Conflict: .*the object has been modified/);

      const patched = await client.mergePatch<ConfigMap>(ConfigMaps, ns, "c", { data: { b: "x" } });
      assert.deepEqual(patched.data, { a: "2", b: "x" });
      assert.notEqual(replaced.metadata.resourceVersion, patched.metadata.resourceVersion);

      await client.delete(ConfigMaps, ns, "c", { preconditions: { uid: created.metadata.uid } });
      const missing = await client.get(ConfigMaps, ns, "c").catch((e) => e);
      assert.ok(
        isNotFound(missing),
        `expected NotFound, got ${JSON.stringify(missing).slice(0, 300)} ${missing}`,
      );
      assert.match(missing.message, /get_configmaps .* HTTP 404 NotFound: configmaps "c" not found/);
    });

    await t.step(
      "paginated list and a watch that sees a create from the listed resourceVersion",
      async () => {
        for (let i = 0; i < 5; i++) {
          await client.create(ConfigMaps, {
            metadata: { namespace: ns, name: `p${i}`, labels: { set: "p" } },
          });
        }
        const first = await client.list<ConfigMap>(ConfigMaps, {
          namespace: ns,
          labelSelector: "set=p",
          limit: 2,
        });
        assert.equal(first.items.length, 2);
        assert.ok(first.metadata.continue);
        const watchAbort = new AbortController();
        const seen: string[] = [];
        const watching = (async () => {
          for await (
            const ev of client.watch<ConfigMap>(resourcePath(ConfigMaps, ns), {
              resourceVersion: first.metadata.resourceVersion,
              labelSelector: "set=p",
            }, watchAbort.signal)
          ) {
            seen.push(`${ev.type} ${ev.object.metadata.name}`);
            if (ev.object.metadata.name === "late") watchAbort.abort();
          }
        })();
        await client.create(ConfigMaps, { metadata: { namespace: ns, name: "late", labels: { set: "p" } } });
        await watching;
        assert.deepEqual(seen, ["ADDED late"]);
      },
    );

    await t.step("the duration histogram recorded every operation", () => {
      const h = metrics.histogram({
        name: "zen_lead_api_call_duration_seconds",
        help: "",
        labelNames: ["operation"],
      });
      for (const op of ["create_configmaps", "replace_configmaps", "patch_configmaps", "delete_configmaps"]) {
        assert.ok(h.snapshot({ operation: op }).count >= 1, op);
      }
    });
  } finally {
    client.close();
  }
});
