/**
 * zen-lead installed and run as a cluster would run it: `deno task image` builds the image, `helm install` puts
 * the chart into the real API server, and two podman containers run the rendered pod exactly as a kubelet would
 * (see _podman.ts). They elect one active replica; the leader scenario (leader Service, failover, clean-up)
 * runs against them; the active container stops and the standby takes over; `helm upgrade` with a changed
 * values.config reconfigures the running controller without a restart; `helm uninstall` leaves nothing of
 * zen-lead behind. Skipped, with the reason printed, where podman cannot run containers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { type Cluster, startCluster } from "../harness/cluster.ts";
import { KubeletSimulator } from "../harness/kubelet.ts";
import { type DeployTools, ensureTools } from "../harness/tools.ts";
import { KubeClient } from "../../core/kube/client.ts";
import { isNotFound } from "../../core/kube/errors.ts";
import { Leases, Services } from "../../core/kube/paths.ts";
import type { Lease, Service } from "../../core/kube/types.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { noSanitize, ROOT } from "./_env.ts";
import { getService, getSlice, leaderIs, routedPods } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";
import { podmanArgs, PodmanPod, probeRuntime } from "./_podman.ts";

const VERSION: string = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).version;
const TAG = `localhost/zen-lead:${VERSION}`;
const CHART = join(ROOT, "deploy/helm/zen-lead");
const NS = "zen-lead-system";
const LEASE = "zen-lead-controller-leader-election";

/** Builds the image (`deno task image`, which installs podman/buildah/runc where missing) and runs --help. */
async function prepare(): Promise<{ skip?: string; help?: string; helpMs?: number; buildMs?: number }> {
  if (Deno.build.os !== "linux") return { skip: "podman containers need Linux" };
  const t0 = performance.now();
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["task", "image"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(build.stderr);
  if (!build.success) {
    if (/installing (buildah|podman|runc)/.test(log) && /apt-get .*failed/.test(log)) {
      return { skip: `podman/buildah could not be installed: ${log.trim().split("\n").slice(-2).join(" ")}` };
    }
    throw new Error(`deno task image failed:\n${log}`);
  }
  const buildMs = performance.now() - t0;
  const probe = await probeRuntime(TAG);
  if ("skip" in probe) return probe;
  return { help: probe.help, helpMs: probe.ms, buildMs };
}

const prep = await prepare();
if (prep.skip) console.log(`[incluster] SKIPPED, not passed: ${prep.skip}`);
const opts = { ...noSanitize, ignore: prep.skip !== undefined };

let cluster: Cluster;
let tools: DeployTools;
let kubelet: KubeletSimulator;
let client: KubeClient;
let saDir: string;
const pods: PodmanPod[] = [];
let appNs: string;
const figures: Record<string, string> = {};

async function sh(cmd: string, args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const o = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { KUBECONFIG: cluster.kubeconfigPath, HELM_CACHE_HOME: "/tmp/zen-lead-helm-cache" },
  }).output();
  const dec = new TextDecoder();
  return { ok: o.success, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  assert.ok(r.ok, `${cmd} ${args.join(" ")} failed:\n${r.err}${r.out}`);
  return r.out;
}

const HELM_SET = [
  "--set",
  `image.repository=localhost/zen-lead,image.tag=${VERSION},image.pullPolicy=Never`,
  // Both "pods" share the host network (and this machine with other test runs): the kernel picks the ports.
  "--set",
  "metricsBindAddress=127.0.0.1:0,healthProbeBindAddress=127.0.0.1:0",
];

async function holder(): Promise<string | undefined> {
  try {
    return (await client.get<Lease>(Leases, NS, LEASE)).spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

/** Polls every 10 ms until `fn` is true; returns the milliseconds it took. */
async function msUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  while (!(await fn().catch(() => false))) {
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return Math.round(performance.now() - t0);
}

/** The Deployment exactly as the installed release rendered it. */
async function renderedDeployment() {
  const manifest = await must(tools.helm, ["get", "manifest", "zen-lead", "-n", NS]);
  return parseAllDocuments(manifest).map((d) => d.toJS()).find((o) => o?.kind === "Deployment");
}

async function startPod(suffix: string): Promise<PodmanPod> {
  const podName = `zen-lead-7c9d5-${suffix}`;
  const args = podmanArgs(await renderedDeployment(), {
    podName,
    namespace: NS,
    serviceAccountDir: saDir,
    apiHost: new URL(cluster.server).hostname,
    apiPort: new URL(cluster.server).port,
  }, `zl-e2e-${crypto.randomUUID().slice(0, 8)}-${suffix}`);
  const pod = new PodmanPod(args[args.indexOf("--name") + 1], args);
  pods.push(pod);
  const readyMs = await msUntil(`${podName} /readyz`, async () => {
    const health = pod.address("health server listening");
    return health !== undefined &&
      (await fetch(`http://${health}/readyz`).then((r) => r.text().then(() => r.ok)));
  }, 60_000);
  figures[`${podName} start to /readyz`] = `${readyMs} ms`;
  return pod;
}

Deno.test({
  name: "image: `deno task image` builds it and `podman run --runtime runc <image> --help` prints the flags",
  ...opts,
  async fn() {
    assert.match(prep.help!, /--leader-elect/);
    assert.match(prep.help!, /--metrics-bind-address/);
    const size = (await new Deno.Command("podman", {
      args: ["image", "inspect", "--format", "{{.Size}}", TAG],
      stdout: "piped",
    }).output()).stdout;
    const mb = Number(new TextDecoder().decode(size).trim()) / 1e6;
    figures["image size"] = `${mb.toFixed(1)} MB`;
    figures["--help (container start to exit)"] = `${Math.round(prep.helpMs!)} ms`;
    assert.ok(mb <= 200, `image is ${mb.toFixed(1)} MB, aim <= 200 MB`);
    const user = await new Deno.Command("podman", {
      args: ["image", "inspect", "--format", "{{.Config.User}}", TAG],
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(user.stdout).trim(), "65532:65532");
    // No shell and no test-only package in what the build committed.
    const rootfs = join(ROOT, "dist/image/rootfs");
    for (const sh of ["bin/sh", "bin/bash", "usr/bin/sh", "usr/bin/bash"]) {
      await assert.rejects(Deno.lstat(join(rootfs, sh)), `no ${sh}`);
    }
    assert.deepEqual([...Deno.readDirSync(join(rootfs, "usr/bin"))].map((e) => e.name), ["deno"]);
    const npm = [...Deno.readDirSync(join(rootfs, "deno-dir/npm/registry.npmjs.org"))].map((e) => e.name);
    assert.ok(npm.includes("hono") && !npm.includes("fast-check"), `cached npm packages: ${npm.join(", ")}`);
  },
});

Deno.test({
  name:
    "setup: control plane, restricted namespace, helm install of the chart, the ServiceAccount's token mounted",
  ...opts,
  async fn() {
    tools = await ensureTools();
    cluster = await startCluster();
    kubelet = new KubeletSimulator(cluster.kubeConfig());
    await kubelet.start();
    client = await KubeClient.fromKubeConfig(cluster.kubeConfig(), {
      metrics: new MetricsRegistry(),
      qps: 0,
    });
    const kubectl = cluster.binaries.kubectl;
    await must(kubectl, ["create", "namespace", NS]);
    await must(kubectl, ["label", "namespace", NS, "pod-security.kubernetes.io/enforce=restricted"]);
    const install = await must(tools.helm, ["install", "zen-lead", CHART, "-n", NS, ...HELM_SET]);
    assert.match(install, /STATUS: deployed/);
    // What the kubelet mounts: a bound token of the chart's ServiceAccount, the cluster CA, the namespace.
    saDir = await Deno.makeTempDir({ prefix: "zen-lead-sa-" });
    const token = await must(kubectl, ["create", "token", "zen-lead", "-n", NS, "--duration=2h"]);
    await Deno.writeTextFile(join(saDir, "token"), token.trim());
    await Deno.copyFile(cluster.caPath, join(saDir, "ca.crt"));
    await Deno.writeTextFile(join(saDir, "namespace"), NS);
    for (const f of ["token", "ca.crt", "namespace"]) await Deno.chmod(join(saDir, f), 0o644);
    await Deno.chmod(saDir, 0o755);
  },
});

Deno.test({
  name: "two containers of the rendered pod elect one active replica",
  ...opts,
  async fn() {
    await startPod("a");
    await startPod("b");
    await msUntil("a Lease holder", async () => (await holder())?.startsWith("zen-lead-7c9d5-") ?? false);
    const h = await holder();
    await msUntil("one replica leads", () => Promise.resolve(pods.some((p) => p.holdsLease)));
    assert.equal(pods.filter((p) => p.holdsLease).length, 1, `exactly one replica leads (holder ${h})`);
    const forbidden = pods.flatMap((p) => p.lines).filter((l) => /forbidden/i.test(JSON.stringify(l)));
    assert.deepEqual(forbidden, [], "no permission errors under the chart's RBAC");
  },
});

Deno.test({
  name: "leader scenario against the containers: leader Service, failover, clean-up",
  ...opts,
  async fn() {
    appNs = await cluster.newNamespace("incluster");
    await agedPods(kubelet, appNs, ["web-0", "web-1"]);
    await createOptedIn(client, appNs, "web");
    await leaderIs(client, appNs, "web-leader", "web-0", 30_000);
    const t0 = performance.now();
    await kubelet.setPodReady(appNs, "web-0", false);
    const ms = await msUntil(
      "web-1 routed",
      async () => (await routedPods(client, appNs, "web-leader"))?.[0] === "web-1",
    );
    figures["pod failover (readiness lost -> slice routes to web-1), 10 ms polling"] = `${
      Math.round(performance.now() - t0)
    } ms (${ms} ms after the status write)`;
    await kubelet.setPodReady(appNs, "web-0", true);
  },
});

Deno.test({
  name: "the chart's admission policy: the ServiceAccount may not write Services it does not manage",
  ...opts,
  async fn() {
    const kc = ["--kubeconfig", await cluster.serviceAccountKubeconfig(NS, "zen-lead")];
    const kubectl = cluster.binaries.kubectl;
    const stranger = (ns: string, labels: Record<string, string>) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "stranger", namespace: ns, labels },
        spec: { ports: [{ port: 80 }] },
      });
    const attempt = async (args: string[], stdin?: string) => {
      const child = new Deno.Command(kubectl, {
        args: [...kc, ...args],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      })
        .spawn();
      const w = child.stdin.getWriter();
      if (stdin) await w.write(new TextEncoder().encode(stdin));
      await w.close();
      const o = await child.output();
      const dec = new TextDecoder();
      return { ok: o.success, err: dec.decode(o.stderr) + dec.decode(o.stdout) };
    };
    // RBAC alone would allow each of these; the ValidatingAdmissionPolicy refuses them.
    let r = await attempt(["create", "-f", "-"], stranger(appNs, {}));
    assert.equal(r.ok, false, "an unlabelled Service is refused");
    assert.match(r.err, /ValidatingAdmissionPolicy.*zen-lead-writes.*managed-by=zen-lead/s);
    const web = (await getService(client, appNs, "web"))!;
    web.metadata.labels = { ...web.metadata.labels, hijacked: "true" };
    r = await attempt(["replace", "-f", "-"], JSON.stringify(web));
    assert.equal(r.ok, false, "the user's own Service cannot be updated");
    assert.match(r.err, /zen-lead-writes/);
    r = await attempt(["delete", "service", "web", "-n", appNs]);
    assert.equal(r.ok, false, "the user's own Service cannot be deleted");
    r = await attempt(
      ["create", "-f", "-"],
      stranger("kube-system", { "app.kubernetes.io/managed-by": "zen-lead" }),
    );
    assert.equal(r.ok, false, "nothing in kube-system");
    assert.match(r.err, /may not write Services or EndpointSlices in namespace kube-system/);
    assert.ok(await getService(client, appNs, "web"), "the user's Service is untouched");
  },
});

Deno.test({
  name: "the active container stops (SIGTERM): the standby takes the Lease and keeps failing over",
  ...opts,
  async fn() {
    const active = pods.find((p) => p.holdsLease)!;
    const before = await holder();
    const t0 = performance.now();
    const status = await active.stop();
    assert.equal(status.code, 0, "graceful exit");
    await msUntil("the standby holds the Lease", async () => {
      const h = await holder();
      return h !== undefined && h !== before;
    });
    figures["replica failover (SIGTERM of the active container -> standby holds the Lease)"] = `${
      Math.round(performance.now() - t0)
    } ms`;
    const standby = pods.find((p) => p !== active)!;
    await msUntil(
      "standby leads",
      () => Promise.resolve(standby.holdsLease),
    );
    await kubelet.setPodReady(appNs, "web-1", false);
    await leaderIs(client, appNs, "web-leader", "web-0");
    await kubelet.setPodReady(appNs, "web-1", true);
  },
});

Deno.test({
  name: "helm upgrade with a changed values.config reconfigures the running controller without a restart",
  ...opts,
  async fn() {
    const running = pods.find((p) => p.holdsLease)!;
    const before = await running.inspect();
    const getGeneration = ["get", "deploy", "zen-lead", "-n", NS, "-o", "jsonpath={.metadata.generation}"];
    const generation = await must(cluster.binaries.kubectl, getGeneration);
    // Sticky off and newest first: the leader must move from web-0 to the younger web-1.
    await must(tools.helm, [
      "upgrade",
      "zen-lead",
      CHART,
      "-n",
      NS,
      "--reuse-values",
      "--set",
      "config.defaults.strategy=newest,config.defaults.sticky=false",
    ]);
    await leaderIs(client, appNs, "web-leader", "web-1", 30_000);
    const after = await running.inspect();
    assert.ok(before?.Id, "the running container was inspected");
    assert.equal(after?.Id, before?.Id, "same container");
    assert.equal(after?.State?.StartedAt, before?.State?.StartedAt, "not restarted");
    assert.equal(after?.State?.Running, true);
    const generationAfter = await must(cluster.binaries.kubectl, getGeneration);
    assert.equal(generationAfter, generation, "the Deployment did not change (no rollout)");
    assert.ok(
      running.lines.some((l) => l.msg === "configuration applied"),
      "the controller logged the reload",
    );
  },
});

Deno.test({
  name: "clean-up: opting out deletes the leader Service and EndpointSlice",
  ...opts,
  async fn() {
    const svc = (await getService(client, appNs, "web"))!;
    delete svc.metadata.annotations!["zen-lead.io/enabled"];
    await client.replace<Service>(Services, svc);
    await msUntil(
      "leader objects deleted",
      async () =>
        (await getService(client, appNs, "web-leader")) === undefined &&
        (await getSlice(client, appNs, "web-leader")) === undefined,
    );
  },
});

Deno.test({
  name: "helm uninstall leaves no zen-lead object behind, only the user's Service and pods",
  ...opts,
  async fn() {
    await must(tools.helm, ["uninstall", "zen-lead", "-n", NS, "--wait"]);
    // The Deployment is gone, so a kubelet would stop its pods.
    for (const p of pods) await p.stop();
    const kubectl = cluster.binaries.kubectl;
    const left = await must(kubectl, [
      "get",
      "all,configmaps,serviceaccounts,roles,rolebindings,leases,poddisruptionbudgets,networkpolicies",
      "-n",
      NS,
      "-l",
      "app.kubernetes.io/instance=zen-lead",
      "-o",
      "name",
    ]);
    assert.equal(left.trim(), "", `left in ${NS}: ${left}`);
    const cluster_ = await must(kubectl, [
      "get",
      "clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings",
      "-o",
      "name",
    ]);
    assert.doesNotMatch(cluster_, /zen-lead/, cluster_);
    await assert.rejects(client.get<Lease>(Leases, NS, LEASE), (e) => isNotFound(e), "the Lease is gone");
    const managed = await must(kubectl, [
      "get",
      "services,endpointslices",
      "-A",
      "-l",
      "app.kubernetes.io/managed-by=zen-lead",
      "-o",
      "name",
    ]);
    assert.equal(managed.trim(), "", `zen-lead objects left: ${managed}`);
    assert.ok(await getService(client, appNs, "web"), "the user's Service stays");
    assert.equal(await getSlice(client, appNs, "web-leader"), undefined);
  },
});

Deno.test({
  name: "teardown (figures)",
  ...opts,
  async fn() {
    for (const p of pods) await p.remove();
    if (saDir) await Deno.remove(saDir, { recursive: true }).catch(() => {});
    await kubelet?.stop();
    await cluster?.stop();
    console.log(
      "[incluster] figures:\n" + Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join("\n"),
    );
  },
});
