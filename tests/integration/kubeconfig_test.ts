/**
 * The controller's own kubeconfig loader against a real API server: the client certificate really reaches the
 * server through Deno's node:https (a request that silently arrived as anonymous would fail here), and so do
 * bearer tokens, token files and exec plugins.
 */
import assert from "node:assert/strict";
import { CERT_ADMIN_USER, MASTERS_GROUP, startCluster, TOKEN_ADMIN_USER } from "../harness/cluster.ts";
import { KubeClient } from "../../core/kube/client.ts";
import { loadCredentials } from "../../core/kube/kubeconfig.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { parse, stringify } from "yaml";

async function whoAmI(kubeconfig: string): Promise<{ username: string; groups: string[] }> {
  const client = await KubeClient.fromCredentials(await loadCredentials(kubeconfig), {
    metrics: new MetricsRegistry(),
  });
  try {
    const review = await client.request<{ status: { userInfo: { username: string; groups: string[] } } }>({
      operation: "create_selfsubjectreviews",
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    return review.status.userInfo;
  } finally {
    client.close();
  }
}

Deno.test({
  name: "kubeconfig loader: client certificate, token, token file and exec plugin each authenticate",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster({ quiet: true });
    const dir = await Deno.makeTempDir({ prefix: "zen-lead-kubeconfig-" });
    try {
      await t.step("client certificate (paths or data in the file)", async () => {
        const me = await whoAmI(cluster.certKubeconfigPath);
        assert.equal(me.username, CERT_ADMIN_USER, "the certificate's CN, not system:anonymous");
        assert.ok(me.groups.includes(MASTERS_GROUP));
      });
      await t.step("bearer token", async () => {
        assert.equal((await whoAmI(cluster.kubeconfigPath)).username, TOKEN_ADMIN_USER);
      });

      // Variants of the token kubeconfig: the token moved to a file, or produced by an exec plugin.
      const base = parse(await Deno.readTextFile(cluster.kubeconfigPath)) as {
        users: { name: string; user: Record<string, unknown> }[];
      };
      const token = base.users[0].user.token as string;
      const variant = async (name: string, user: Record<string, unknown>) => {
        const doc = structuredClone(base);
        doc.users[0].user = user;
        const path = `${dir}/${name}.kubeconfig`;
        await Deno.writeTextFile(path, stringify(doc));
        return path;
      };
      await t.step("token file", async () => {
        await Deno.writeTextFile(`${dir}/token`, token + "\n");
        assert.equal(
          (await whoAmI(await variant("tokenfile", { tokenFile: `${dir}/token` }))).username,
          TOKEN_ADMIN_USER,
        );
      });
      await t.step("exec credential plugin", async () => {
        const script = `${dir}/plugin.sh`;
        await Deno.writeTextFile(
          script,
          `#!/bin/sh\n[ -n "$KUBERNETES_EXEC_INFO" ] || exit 3\n` +
            `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'"$TOKEN"'"}}'\n`,
        );
        await Deno.chmod(script, 0o755);
        const path = await variant("exec", {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1",
            command: script,
            env: [{ name: "TOKEN", value: token }],
          },
        });
        assert.equal((await whoAmI(path)).username, TOKEN_ADMIN_USER);
      });
      await t.step("a wrong token is refused, not silently anonymous", async () => {
        const path = await variant("wrong", { token: "not-a-token" });
        await assert.rejects(whoAmI(path), /401|Unauthorized/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("kubeconfig loader: a current-context that does not exist says which contexts there are", async () => {
  const path = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  await Deno.writeTextFile(
    path,
    stringify({ "current-context": "nope", contexts: [], clusters: [], users: [] }),
  );
  await assert.rejects(loadCredentials(path), /current-context "nope" is not among contexts \[\]/);
  await Deno.remove(path);
});
