/**
 * `--metrics-secure` on the real API server: HTTPS on the metrics address, callers authenticated by TokenReview
 * and authorized by SubjectAccessReview on the non-resource URL, with the RBAC of deploy/rbac.yaml (the
 * controller's metrics-auth ClusterRole, the metrics-reader ClusterRole for scrapers). No token 401, a token
 * without the role 403, with it 200; a real Prometheus scrapes with its ServiceAccount token.
 */
import assert from "node:assert/strict";
import type { ResourceType } from "../../core/kube/paths.ts";
import { selfSignedCert } from "../../core/http/self_signed.ts";
import { CONTROLLER_NS, type E2E, e2eTest, startE2E } from "./_env.ts";
import { waitFor } from "./_reads.ts";
import { startPrometheus } from "./_prometheus.ts";

const ServiceAccounts: ResourceType = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};
const ClusterRoleBindings: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterrolebindings",
  kind: "ClusterRoleBinding",
  namespaced: false,
};

let env: E2E;
let mounted = 0;
let selfSigned = 0;
let cert = "";
let certDir = "";
let client: Deno.HttpClient;
const tokens: Record<string, string> = {};

async function tokenOf(name: string): Promise<string> {
  await env.client.create(ServiceAccounts, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: CONTROLLER_NS },
  });
  const r = await env.client.request<{ status: { token: string } }>({
    operation: "create_token",
    method: "POST",
    path: `/api/v1/namespaces/${CONTROLLER_NS}/serviceaccounts/${name}/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  return r.status.token;
}

function get(port: number, path: string, token?: string): Promise<{ status: number; body: string }> {
  return fetch(`https://127.0.0.1:${port}${path}`, {
    client,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

e2eTest(
  "setup: two controllers with --metrics-secure (a mounted certificate, a self-signed one)",
  async () => {
    env = await startE2E();
    certDir = await Deno.makeTempDir({ prefix: "zen-lead-metrics-tls-" });
    const pair = await selfSignedCert(["127.0.0.1"]);
    cert = pair.cert;
    await Deno.writeTextFile(`${certDir}/tls.crt`, pair.cert);
    await Deno.writeTextFile(`${certDir}/tls.key`, pair.key);
    client = Deno.createHttpClient({ caCerts: [cert] });
    const a = await env.startController([
      "--metrics-secure",
      `--metrics-cert-dir=${certDir}`,
      "--leader-elect=false",
    ]);
    const b = await env.startController(["--metrics-secure", "--leader-elect=false"]);
    mounted = a.metricsPort;
    selfSigned = b.metricsPort;
    tokens.nobody = await tokenOf("nobody");
    tokens.scraper = await tokenOf("scraper");
    await env.client.create(ClusterRoleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "scraper-metrics-reader" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "zen-lead-metrics-reader",
      },
      subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: CONTROLLER_NS }],
    } as never);
  },
);

e2eTest(
  "no token: 401 on /metrics, /status and /debug/*; a token the API server does not know: 401",
  async () => {
    for (const path of ["/metrics", "/status", "/debug/deadletters"]) {
      const r = await get(mounted, path);
      assert.equal(r.status, 401, `${path}: ${r.body}`);
      assert.match(r.body, /bearer token/);
    }
    const bad = await get(mounted, "/metrics", "not-a-token");
    assert.equal(bad.status, 401, bad.body);
    assert.match(bad.body, /not authenticated/);
  },
);

e2eTest("a ServiceAccount token without the metrics-reader role: 403 naming the user and URL", async () => {
  for (const path of ["/metrics", "/status", "/debug/deadletters"]) {
    const r = await get(mounted, path, tokens.nobody);
    assert.equal(r.status, 403, `${path}: ${r.body}`);
    assert.match(r.body, new RegExp(`system:serviceaccount:${CONTROLLER_NS}:nobody may not get ${path}`));
  }
});

e2eTest("bound to metrics-reader: 200 with the metrics, the status and the debug snapshots", async () => {
  // RBAC of a new binding reaches the authorizer within a moment.
  const m = await waitFor("200 for the scraper", async () => {
    const r = await get(mounted, "/metrics", tokens.scraper);
    return r.status === 200 ? r : undefined;
  });
  assert.match(m.body, /^# HELP zen_lead_/m);
  assert.equal((await get(mounted, "/status", tokens.scraper)).status, 200);
  assert.equal((await get(mounted, "/debug/deadletters", tokens.scraper)).status, 200);
  // Plain HTTP is not served.
  await assert.rejects(fetch(`http://127.0.0.1:${mounted}/metrics`).then((r) => r.text()));
});

e2eTest(
  "a real Prometheus scrapes both with the scraper's ServiceAccount token (CA pinned / self-signed)",
  async () => {
    const prom = await startPrometheus(
      "zen-lead-prom-secure-",
      (dir) =>
        `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: mounted
    scheme: https
    authorization: { credentials_file: ${dir}/token }
    tls_config: { ca_file: ${dir}/ca.crt }
    static_configs: [{ targets: ["127.0.0.1:${mounted}"] }]
  - job_name: self-signed
    scheme: https
    authorization: { credentials_file: ${dir}/token }
    tls_config: { insecure_skip_verify: true }
    static_configs: [{ targets: ["127.0.0.1:${selfSigned}"] }]
`,
      { token: tokens.scraper, "ca.crt": cert },
    );
    try {
      const up = await waitFor("both targets up", async () => {
        const result = await prom.query<{ job: string }>("up");
        const ups = result.filter((s) => s.value[1] === "1").map((s) => s.metric.job).sort();
        return ups.length === 2 ? ups : undefined;
      }, 30_000);
      assert.deepEqual(up, ["mounted", "self-signed"]);
      const count = await prom.query("count(zen_lead_build_info)");
      assert.equal(count[0]?.value[1], "2");
    } finally {
      await prom.stop();
    }
  },
);

e2eTest("teardown", async () => {
  client?.close();
  await env?.stop();
  if (certDir) await Deno.remove(certDir, { recursive: true });
});
