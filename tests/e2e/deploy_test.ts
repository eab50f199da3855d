/**
 * The install artefacts against the real API server: helm lint --strict of every values profile, every
 * `helm template` profile and Kustomize overlay through `kubectl apply --dry-run=server --validate=strict` into
 * namespaces that enforce Pod Security "restricted" (with the Prometheus Operator's published CRDs installed),
 * values.schema.json refusing typos, the rendered config.yaml accepted by the controller's own parser, deploy/
 * in step with the chart, and the GitOps examples validated against the Argo CD and Flux CRD schemas.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { type Cluster, startCluster } from "../harness/cluster.ts";
import { type DeployTools, ensureTools } from "../harness/tools.ts";
import { e2eTest, ROOT } from "./_env.ts";
import { driftedFiles } from "../../deploy/generate.ts";
import { parseConfigText } from "../../core/config/parse.ts";
import { builtinPlugins } from "../../app/start.ts";

const CHART = join(ROOT, "deploy/helm/zen-lead");
const PROFILES = ["default", "namespaced", "monitoring", "ha-off"];
/** The release namespace; the namespaced profile also writes Roles into apps and payments. */
const NS = "zl-restricted";
const RESTRICTED = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
};

let cluster: Cluster;
let tools: DeployTools;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], stdin?: string): Promise<Run> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { KUBECONFIG: cluster?.kubeconfigPath ?? "", HELM_CACHE_HOME: "/tmp/zen-lead-helm-cache" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function ok(cmd: string, args: string[], stdin?: string): Promise<string> {
  const r = await run(cmd, args, stdin);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const kubectl = (args: string[], stdin?: string) => run(cluster.binaries.kubectl, args, stdin);

/** Server-side dry-run with strict field validation; fails on any error or Pod Security warning. */
async function dryRunServer(manifests: string, namespace: string | undefined, what: string): Promise<void> {
  const ns = namespace ? ["-n", namespace] : [];
  const r = await kubectl(["apply", "--dry-run=server", "--validate=strict", ...ns, "-f", "-"], manifests);
  assert.equal(r.code, 0, `${what}: kubectl apply --dry-run=server failed:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Warning|would violate PodSecurity/i, `${what}: warnings:\n${r.stderr}`);
  assert.match(
    r.stdout,
    /\(server dry run\)/,
    `${what}: expected server dry-run output, found:\n${r.stdout}`,
  );
}

/** A Pod made from a rendered Deployment's template: Pod Security enforce acts on Pods, not on Deployments. */
function podsOf(manifests: string): string {
  const pods = parseAllDocuments(manifests).map((d) => d.toJS()).filter((o) => o?.kind === "Deployment").map((
    d,
  ) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${d.metadata.name}-template`, labels: d.spec.template.metadata.labels },
    spec: d.spec.template.spec,
  }));
  assert.ok(pods.length > 0, "expected a Deployment in the rendering");
  return pods.map((p) => JSON.stringify(p)).join("\n---\n");
}

function helmTemplate(profile: string, namespace = NS): Promise<string> {
  return ok(tools.helm, [
    "template",
    "zen-lead",
    CHART,
    "--namespace",
    namespace,
    "-f",
    join(CHART, "profiles", `${profile}.yaml`),
  ]);
}

/** Waits until every CRD is Established (kubectl wait fails on a CRD whose status is not written yet). */
async function crdsEstablished(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`CRDs not established: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

async function createNamespace(name: string): Promise<void> {
  const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: RESTRICTED } };
  await ok(cluster.binaries.kubectl, ["apply", "-f", "-"], JSON.stringify(ns));
}

e2eTest(
  "setup: helm, kustomize and CRDs built; control plane; namespaces enforcing Pod Security restricted",
  async () => {
    tools = await ensureTools();
    cluster = await startCluster();
    for (const ns of [NS, "apps", "payments", "zen-lead-system"]) await createNamespace(ns);
    // The Pod checks below need the ServiceAccount the Deployment names (a dry-run creates nothing).
    for (const ns of [NS, "zen-lead-system"]) {
      await ok(cluster.binaries.kubectl, ["create", "sa", "zen-lead", "--save-config", "-n", ns]);
    }
    const crds = ["servicemonitors", "podmonitors", "prometheusrules"].map((k) =>
      join(tools.crdDir, `monitoring.coreos.com_${k}.yaml`)
    );
    await ok(cluster.binaries.kubectl, ["apply", "--server-side", ...crds.flatMap((f) => ["-f", f])]);
    await crdsEstablished();
  },
);

e2eTest(
  "the test namespace really enforces restricted: a pod without seccompProfile is rejected",
  async () => {
    // The shape of the old deploy/deployment.yaml: no seccompProfile, no runAsUser.
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "no-seccomp" },
      spec: {
        containers: [{
          name: "c",
          image: "x",
          securityContext: {
            allowPrivilegeEscalation: false,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
          },
        }],
      },
    };
    const r = await kubectl(["apply", "--dry-run=server", "-n", NS, "-f", "-"], JSON.stringify(pod));
    assert.notEqual(r.code, 0, "expected the restricted namespace to reject the pod");
    assert.match(r.stderr, /violates PodSecurity "restricted:latest".*seccompProfile/s);
  },
);

e2eTest("helm lint --strict passes for every values profile", async () => {
  for (const p of PROFILES) {
    const out = await ok(tools.helm, [
      "lint",
      "--strict",
      CHART,
      "-f",
      join(CHART, "profiles", `${p}.yaml`),
    ]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, `${p}: ${out}`);
  }
});

e2eTest("every helm template profile passes server-side dry-run under Pod Security restricted", async (t) => {
  for (const p of PROFILES) {
    await t.step(p, async () => {
      const manifests = await helmTemplate(p);
      await dryRunServer(manifests, undefined, `helm template (${p})`);
      await dryRunServer(podsOf(manifests), NS, `pod of the Deployment (${p})`);
    });
  }
});

e2eTest("every kustomize overlay passes server-side dry-run under Pod Security restricted", async (t) => {
  for (const o of ["base", "overlays/namespaced", "overlays/monitoring"]) {
    await t.step(o, async () => {
      const manifests = await ok(tools.kustomize, ["build", join(ROOT, "deploy/kustomize", o)]);
      const ns = parseAllDocuments(manifests).map((d) => d.toJS()).find((x) => x?.kind === "Namespace");
      assert.equal(ns?.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
      await dryRunServer(manifests, undefined, `kustomize build ${o}`);
      await dryRunServer(podsOf(manifests), "zen-lead-system", `pod of the Deployment (${o})`);
    });
  }
});

e2eTest(
  "the plain manifests of deploy/ pass server-side dry-run under Pod Security restricted",
  async (t) => {
    const sets = {
      "cluster-wide": ["namespace.yaml", "rbac.yaml", "configmap.yaml", "deployment.yaml"],
      "namespaced": ["namespace.yaml", "namespaced/rbac.yaml", "configmap.yaml", "deployment.yaml"],
    };
    for (const [name, files] of Object.entries(sets)) {
      await t.step(name, async () => {
        const text = await Promise.all(files.map((f) => Deno.readTextFile(join(ROOT, "deploy", f))));
        const manifests = text.join("\n---\n");
        await dryRunServer(manifests, undefined, `deploy/ ${name}`);
        await dryRunServer(podsOf(manifests), "zen-lead-system", `pod of deploy/deployment.yaml`);
      });
    }
  },
);

e2eTest("values.schema.json refuses typos and wrong types, naming the key", async () => {
  const cases: [string[], RegExp][] = [
    [["--set", "controller.qsp=5"], /additional properties 'qsp' not allowed/],
    [["--set", "replicaCount=two"], /replicaCount.*got string, want integer/s],
    [["--set", "image.pullPolicy=Sometimes"], /pullPolicy/],
    [["--set", "controller.qps=0"], /qps/],
    [["--set", "watchNamespaces={Apps}"], /watchNamespaces/],
    [["--set", "imageTag=1.0"], /additional properties 'imageTag' not allowed/],
    [["--set", "config.defaults.stategy=newest"], /additional properties 'stategy' not allowed/],
  ];
  for (const [args, want] of cases) {
    const r = await run(tools.helm, ["template", "zen-lead", CHART, ...args]);
    assert.notEqual(r.code, 0, `expected ${args.join(" ")} to be refused`);
    assert.match(r.stderr, want, `${args.join(" ")}: ${r.stderr}`);
  }
});

e2eTest("the rendered config.yaml of every profile is accepted by the controller's own parser", async () => {
  const known = new Set(builtinPlugins().map((p) => p.name));
  for (const p of PROFILES) {
    const cm = parseAllDocuments(await helmTemplate(p)).map((d) => d.toJS()).find((o) =>
      o?.kind === "ConfigMap" && o.metadata.name === "zen-lead-config"
    );
    const r = parseConfigText(cm.data["config.yaml"]);
    assert.ok(r.ok, `${p}: ${JSON.stringify(r)}`);
    for (const e of r.config.plugins ?? []) assert.ok(known.has(e.name), `${p}: unknown plugin ${e.name}`);
    assert.equal(r.config.controller?.qps, 50, `${p}: controller.* values reach config.yaml`);
  }
  // A bad value that the chart schema allows is still caught by the controller's schema in this test.
  const bad = await ok(tools.helm, [
    "template",
    "zen-lead",
    CHART,
    "--set",
    "config.defaults.healthCheck=Not_A_Checker",
  ]);
  const cm = parseAllDocuments(bad).map((d) => d.toJS()).find((o) => o?.kind === "ConfigMap");
  assert.equal(parseConfigText(cm.data["config.yaml"]).ok, false);
});

e2eTest(
  "deploy/ and the Kustomize parts are what `deno task manifests` renders from the chart (no drift)",
  async () => {
    assert.deepEqual(await driftedFiles(), [], "run `deno task manifests` and commit the result");
  },
);

e2eTest(
  "GitOps examples validate against Argo CD's and Flux's published CRD schemas, and their values against the chart",
  async () => {
    const crds = [
      join(tools.crdDir, "argoproj.io_applications.yaml"),
      join(tools.crdDir, "source.toolkit.fluxcd.io_ocirepositories.yaml"),
      join(tools.crdDir, "source.toolkit.fluxcd.io_helmrepositories.yaml"),
      join(ROOT, "tests/fixtures/crds/helm.toolkit.fluxcd.io_helmreleases.yaml"),
    ];
    await ok(cluster.binaries.kubectl, ["apply", "--server-side", ...crds.flatMap((f) => ["-f", f])]);
    await crdsEstablished();
    for (const ns of ["argocd", "flux-system"]) await createNamespace(ns);
    const argo = await Deno.readTextFile(join(ROOT, "deploy/gitops/argocd-application.yaml"));
    const flux = await Deno.readTextFile(join(ROOT, "deploy/gitops/flux-helmrelease.yaml"));
    await dryRunServer(argo, "argocd", "Argo CD Application");
    await dryRunServer(flux, "flux-system", "Flux OCIRepository + HelmRelease");
    // The schema check is real: a misspelt field is refused by the CRD's structural schema.
    const typo = argo.replace("targetRevision:", "targetRevison:");
    const r = await kubectl(
      ["apply", "--dry-run=server", "--validate=strict", "-n", "argocd", "-f", "-"],
      typo,
    );
    assert.notEqual(r.code, 0, "expected a misspelt Application field to be refused");
    assert.match(r.stderr, /targetRevison/);
    // The values they pass are valid chart values.
    const values = [
      parse(argo).spec.source.helm.valuesObject,
      parseAllDocuments(flux).map((d) => d.toJS()).find((o) => o.kind === "HelmRelease").spec.values,
    ];
    for (const v of values) {
      await ok(tools.helm, ["template", "zen-lead", CHART, "-f", "-"], JSON.stringify(v));
    }
  },
);

e2eTest(
  "helm install and uninstall over the predecessor's Lease: installs, uses it, leaves it as it was",
  async () => {
    const ns = "zl-upgrade";
    await createNamespace(ns);
    // controller-runtime's Lease, as the Go zen-lead's manager leaves it (not Helm's).
    const lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "zen-lead-controller-leader-election", namespace: ns },
      spec: { holderIdentity: "zen-lead-5d8f_0a1b", leaseDurationSeconds: 15 },
    };
    await ok(cluster.binaries.kubectl, ["create", "-f", "-"], JSON.stringify(lease));
    const leaseUid = ["get", "lease", lease.metadata.name, "-n", ns, "-o", "jsonpath={.metadata.uid}"];
    const uid = await ok(cluster.binaries.kubectl, leaseUid);
    const install = await run(tools.helm, ["install", "zen-lead", CHART, "-n", ns]);
    assert.equal(install.code, 0, `helm install over an existing Lease: ${install.stderr}`);
    await ok(tools.helm, ["uninstall", "zen-lead", "-n", ns, "--wait"]);
    const after = await ok(cluster.binaries.kubectl, leaseUid);
    assert.equal(after, uid, "the predecessor's Lease is neither adopted nor deleted");
    // Without one, the release brings its own Lease and takes it away again.
    await ok(cluster.binaries.kubectl, ["delete", "lease", lease.metadata.name, "-n", ns]);
    await ok(tools.helm, ["install", "zen-lead", CHART, "-n", ns]);
    await ok(cluster.binaries.kubectl, ["get", "lease", lease.metadata.name, "-n", ns]);
    await ok(tools.helm, [
      "upgrade",
      "zen-lead",
      CHART,
      "-n",
      ns,
      "--reuse-values",
      "--set",
      "controller.qps=20",
    ]);
    await ok(tools.helm, ["uninstall", "zen-lead", "-n", ns, "--wait"]);
    const gone = await run(cluster.binaries.kubectl, ["get", "lease", lease.metadata.name, "-n", ns]);
    assert.notEqual(gone.code, 0, "the release's Lease goes with the release");
  },
);

e2eTest("teardown", async () => {
  await cluster?.stop();
});
