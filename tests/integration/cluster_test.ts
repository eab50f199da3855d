// The test control plane: a real API server, real controllers, kubelet-less pods, real authentication.
import assert from "node:assert/strict";
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Pod,
} from "@kubernetes/client-node";
import { FALLBACK_ADVERTISE_ADDRESS, pickAdvertiseAddress } from "../harness/advertise.ts";
import {
  CERT_ADMIN_USER,
  type Cluster,
  DEFAULT_CONTROLLERS,
  MASTERS_GROUP,
  startCluster,
  TOKEN_ADMIN_USER,
  whoAmI,
} from "../harness/cluster.ts";
import { PodIPPool } from "../harness/ip_pool.ts";
import { KubeletSimulator } from "../harness/kubelet.ts";
import { createService, ownerReferenceTo } from "../harness/objects.ts";
import { httpStatus, waitFor } from "../harness/wait.ts";
import { watchUntil } from "../harness/watch.ts";
import { existsSync } from "node:fs";
import { readLine } from "../harness/read_line.ts";

// client-node keeps HTTP connections alive across tests of one shared cluster.
const CLUSTER_TEST = { sanitizeOps: false, sanitizeResources: false };

const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Processes whose command line mentions `dataDir`: every process of that cluster, and nothing else. */
function processesOf(dataDir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes(dataDir)) found.push(`${entry.name}: ${cmdline.slice(0, 120)}`);
    } catch { /* exited meanwhile */ }
  }
  return found;
}

async function stopAndAssertGone(cluster: Cluster): Promise<void> {
  const pids = cluster.processes().map((p) => p.pid);
  await cluster.stop();
  assert.deepEqual(processesOf(cluster.dataDir), [], "expected no process of the cluster after stop()");
  for (const pid of pids) {
    assert.ok(!running(pid), `expected pid ${pid} to be gone after stop()`);
  }
  assert.ok(!existsSync(cluster.dataDir), `expected ${cluster.dataDir} to be removed by stop()`);
}

/** True for a live process; a zombie (exited, not yet reaped by its parent) counts as gone. */
function running(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

Deno.test("the cached build of the pinned release returns at once", async () => {
  const started = performance.now();
  const out = await new Deno.Command("bash", {
    args: [new URL("../harness/build-k8s.sh", import.meta.url).pathname],
    stderr: "piped",
  })
    .output();
  const elapsedMs = performance.now() - started;
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `expected build-k8s.sh to succeed, found code ${out.code}: ${stderr}`);
  assert.match(stderr, /are cached in/);
  assert.ok(
    elapsedMs < 10_000,
    `expected a cached build-k8s.sh run to take about a second, found ${elapsedMs} ms`,
  );
});

Deno.test("advertise address: a machine with only loopback gets the fallback", () => {
  assert.equal(pickAdvertiseAddress([]), FALLBACK_ADVERTISE_ADDRESS);
  assert.equal(
    pickAdvertiseAddress([{ family: "IPv4", address: "127.0.0.1" }, { family: "IPv6", address: "::1" }]),
    FALLBACK_ADVERTISE_ADDRESS,
  );
  assert.equal(
    pickAdvertiseAddress([{ family: "IPv4", address: "169.254.1.1" }, {
      family: "IPv4",
      address: "192.0.2.7",
    }]),
    "192.0.2.7",
  );
});

Deno.test("pod IP pool hands out distinct host addresses of each family", () => {
  const pool = new PodIPPool();
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) for (const ip of pool.allocate("DualStack")) seen.add(ip);
  assert.equal(seen.size, 1200);
  assert.ok([...seen].every((ip) => !/\.(0|255)$/.test(ip)), "expected no .0 or .255 IPv4 addresses");
  assert.deepEqual(new PodIPPool().allocate("IPv6"), ["fd00:10:244::1"]);
});

Deno.test("a shared cluster", CLUSTER_TEST, async (t) => {
  const cluster = await startCluster();
  try {
    await t.step("starts and reports its warm start time", () => {
      console.log(`warm cluster start: ${(cluster.startMs / 1000).toFixed(1)} s (target < 15 s)`);
      assert.ok(cluster.startMs > 0);
      assert.deepEqual(cluster.processes().map((p) => p.name), [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
      ]);
      assert.ok(cluster.processes().every((p) => running(p.pid)));
    });

    await t.step("/version reports the pinned release", async () => {
      const res = await fetch(`${cluster.server}/version`, {
        client: Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(cluster.caPath)] }),
        headers: { authorization: `Bearer ${cluster.adminToken}` },
      });
      const version = await res.json();
      assert.equal(version.gitVersion, cluster.binaries.kubernetesVersion);
      assert.equal(`${version.major}.${version.minor}`, "1.34");
    });

    await t.step("the token kubeconfig authenticates as the token admin", async () => {
      const me = await whoAmI(cluster.kubeConfig());
      assert.equal(me.username, TOKEN_ADMIN_USER);
      assert.ok(me.groups.includes(MASTERS_GROUP), `expected ${MASTERS_GROUP} in ${me.groups}`);
    });

    await t.step("the client-certificate kubeconfig authenticates as the certificate's subject", async () => {
      // If Deno dropped the client certificate, the request would be anonymous and this would fail.
      const me = await whoAmI(cluster.certKubeConfig());
      assert.equal(me.username, CERT_ADMIN_USER);
      assert.ok(me.groups.includes(MASTERS_GROUP), `expected ${MASTERS_GROUP} in ${me.groups}`);
      const namespaces = await cluster.certKubeConfig().makeApiClient(CoreV1Api).listNamespace();
      assert.ok(namespaces.items.some((ns) => ns.metadata?.name === "kube-system"));
    });

    await t.step("anonymous requests are not authorized", async () => {
      const anonymous = new KubeConfig();
      anonymous.loadFromOptions({
        clusters: [{ name: "c", server: cluster.server, caFile: cluster.caPath }],
        users: [{ name: "nobody" }],
        contexts: [{ name: "c", cluster: "c", user: "nobody" }],
        currentContext: "c",
      });
      const status = await anonymous.makeApiClient(CoreV1Api).listNamespace().then(() => 200, httpStatus);
      assert.ok(
        status === 401 || status === 403,
        `expected 401 or 403 for an anonymous list, found ${status}`,
      );
    });

    await t.step(
      "pods become Ready with IPs (seen through a watch); the GC removes what an owner owned",
      async () => {
        const kc = cluster.kubeConfig();
        const core = kc.makeApiClient(CoreV1Api);
        const ns = await cluster.newNamespace("lifecycle");
        await using kubelet = new KubeletSimulator(kc);
        await kubelet.start();
        await kubelet.createNode("node-a", { zone: "zone-a" });

        const owner = await core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name: "owner" } },
        });
        const ownedBy = [ownerReferenceTo(owner)];
        const service = await createService(kc, ns, {
          name: "leader",
          selector: { app: "demo" },
          ipFamilies: ["IPv6"],
          ipFamilyPolicy: "SingleStack",
          ownerReferences: ownedBy,
        });
        assert.match(service.spec?.clusterIP ?? "", /^fd00:10:96::/, "expected an IPv6 ClusterIP");

        const allReady = watchUntil<V1Pod>(
          kc,
          `/api/v1/namespaces/${ns}/pods`,
          (pods) => pods.size === 3 && [...pods.values()].every((p) => isReady(p) && p.status?.podIP),
          { what: "3 Ready pods with IPs" },
        );
        const labels = { app: "demo" };
        const ports = [{ name: "http", containerPort: 8080 }];
        await Promise.all([
          kubelet.createPod(ns, { name: "v4", labels, ports, node: "node-a", ownerReferences: ownedBy }),
          kubelet.createPod(ns, {
            name: "loopback",
            labels,
            ports,
            ip: "127.0.0.5",
            ownerReferences: ownedBy,
          }),
          kubelet.createPod(ns, { name: "v6", labels, ports, family: "IPv6", ownerReferences: ownedBy }),
        ]);
        const pods = await allReady;
        const byName = (name: string) => pods.get(`${ns}/${name}`)!;
        assert.match(byName("v4").status!.podIP!, /^10\.244\./);
        assert.equal(byName("v4").spec?.nodeName, "node-a");
        assert.equal(byName("v4").status?.phase, "Running");
        assert.equal(byName("loopback").status?.podIP, "127.0.0.5");
        assert.match(byName("v6").status!.podIP!, /^fd00:10:244::/);
        assert.deepEqual(byName("v4").spec?.containers[0].ports?.map((p) => p.name), ["http"]);

        await core.deleteNamespacedConfigMap({ namespace: ns, name: "owner" });
        // The GC deletes the Service outright; the pods are bound, so it only marks them terminating
        // and the simulated kubelet finishes the deletion after their grace period.
        await watchUntil<V1Pod>(kc, `/api/v1/namespaces/${ns}/pods`, (remaining) => remaining.size === 0, {
          what: "the garbage collector to delete the pods owned by the ConfigMap",
          timeoutMs: 60_000,
        });
        await waitFor(
          "the GC to delete the owned Service",
          () =>
            core.readNamespacedService({ namespace: ns, name: "leader" }).then(
              () => false,
              (err) => httpStatus(err) === 404,
            ),
        );
      },
    );

    await t.step("graceful deletion goes through deletionTimestamp; readiness flips", async () => {
      const kc = cluster.kubeConfig();
      const core = kc.makeApiClient(CoreV1Api);
      const ns = await cluster.newNamespace("delete");
      const kubelet = new KubeletSimulator(kc);
      await kubelet.createPod(ns, { name: "p", ready: false });
      assert.equal(isReady(await core.readNamespacedPod({ namespace: ns, name: "p" })), false);
      const ready = await kubelet.setPodReady(ns, "p", true);
      assert.equal(isReady(ready), true);

      const deleted = kubelet.deletePodGracefully(ns, "p", { graceSeconds: 2, markNotReady: true });
      const terminating = await waitFor("pod p to be terminating and not Ready", async () => {
        const pod = await core.readNamespacedPod({ namespace: ns, name: "p" });
        return pod.metadata?.deletionTimestamp && !isReady(pod) ? pod : undefined;
      });
      assert.equal(terminating.metadata?.deletionGracePeriodSeconds, 2);
      await deleted;
      const status = await core.readNamespacedPod({ namespace: ns, name: "p" }).then(() => 200, httpStatus);
      assert.equal(status, 404, "expected the pod to be gone after its grace period");
    });

    await t.step("nodes go NotReady / Unknown with the lifecycle taints, and back", async () => {
      const kubelet = new KubeletSimulator(cluster.kubeConfig());
      const node = await kubelet.createNode("node-z", { zone: "zone-z", region: "region-1" });
      assert.equal(node.metadata?.labels?.["kubernetes.io/hostname"], "node-z");
      assert.equal(node.metadata?.labels?.["topology.kubernetes.io/zone"], "zone-z");
      assert.ok(node.status?.addresses?.some((a) => a.type === "InternalIP" && a.address));
      const readyOf = (n: typeof node) => n.status?.conditions?.find((c) => c.type === "Ready")?.status;
      assert.equal(readyOf(node), "True");

      const unknown = await kubelet.setNodeReady("node-z", "Unknown");
      assert.equal(readyOf(unknown), "Unknown");
      assert.deepEqual(unknown.spec?.taints?.map((t) => `${t.key}:${t.effect}`), [
        "node.kubernetes.io/unreachable:NoSchedule",
        "node.kubernetes.io/unreachable:NoExecute",
      ]);
      const notReady = await kubelet.setNodeReady("node-z", false);
      assert.equal(readyOf(notReady), "False");
      assert.ok(notReady.spec?.taints?.every((t) => t.key === "node.kubernetes.io/not-ready"));
      const back = await kubelet.setNodeReady("node-z", true);
      assert.equal(readyOf(back), "True");
      assert.equal(back.spec?.taints?.length ?? 0, 0);
    });

    await t.step("a ServiceAccount kubeconfig carries that identity and only its RBAC", async () => {
      const admin = cluster.kubeConfig();
      const core = admin.makeApiClient(CoreV1Api);
      const ns = await cluster.newNamespace("rbac");
      await core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: "controller" } },
      });
      const path = await cluster.serviceAccountKubeconfig(ns, "controller");
      const sa = new KubeConfig();
      sa.loadFromFile(path);
      const me = await whoAmI(sa);
      assert.equal(me.username, `system:serviceaccount:${ns}:controller`);
      assert.ok(!me.groups.includes(MASTERS_GROUP));

      const saCore = sa.makeApiClient(CoreV1Api);
      const denied = await saCore.listNamespacedPod({ namespace: ns }).then(() => 200, httpStatus);
      assert.equal(denied, 403, "expected RBAC to deny listing pods before a Role is bound");
      const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: "pod-reader" },
          rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: "pod-reader" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
          subjects: [{ kind: "ServiceAccount", name: "controller", namespace: ns }],
        },
      });
      await waitFor("the Role to allow listing pods", () => saCore.listNamespacedPod({ namespace: ns }));
    });

    await t.step("bulk pod creation with bounded concurrency", async () => {
      const ns = await cluster.newNamespace("bulk");
      const kubelet = new KubeletSimulator(cluster.kubeConfig());
      const count = 300;
      const started = performance.now();
      const pods = await kubelet.createPods(
        ns,
        count,
        (i) => ({ name: `bulk-${i}`, labels: { app: "bulk" } }),
        {
          concurrency: 24,
        },
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `created ${count} running pods in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(0)}/s)`,
      );
      assert.equal(pods.length, count);
      assert.equal(new Set(pods.map((p) => p.podIPs[0])).size, count, "expected distinct pod IPs");
      const listed = await cluster.kubeConfig().makeApiClient(CoreV1Api).listNamespacedPod({
        namespace: ns,
        labelSelector: "app=bulk",
      });
      assert.equal(listed.items.filter((p) => p.status?.phase === "Running" && isReady(p)).length, count);
    });
  } finally {
    await stopAndAssertGone(cluster);
  }
});

Deno.test(
  "an isolated cluster: fallback advertise address, optional controllers, harness-made ServiceAccounts",
  CLUSTER_TEST,
  async () => {
    const cluster = await startCluster({
      advertiseAddress: FALLBACK_ADVERTISE_ADDRESS,
      controllers: ["garbagecollector", "namespace", "deployment", "replicaset", "endpointslice"],
    });
    try {
      assert.ok(!DEFAULT_CONTROLLERS.every((c) => cluster.controllers.includes(c)));
      const kc = cluster.kubeConfig();
      const discovery = kc.makeApiClient(DiscoveryV1Api);
      await waitFor("the kubernetes EndpointSlice to carry the advertise address", async () => {
        const slices = await discovery.listNamespacedEndpointSlice({
          namespace: "default",
          labelSelector: "kubernetes.io/service-name=kubernetes",
        });
        return slices.items.some((s) =>
          (s.endpoints ?? []).some((e) => e.addresses.includes(FALLBACK_ADVERTISE_ADDRESS))
        );
      });

      // No serviceaccount controller here: newNamespace creates `default` itself so pods can be created.
      const ns = await cluster.newNamespace("apps");
      const kubelet = new KubeletSimulator(kc);
      const pod = await kubelet.createPod(ns, {
        name: "p",
        labels: { app: "web" },
        ports: [{ name: "http", containerPort: 80 }],
      });
      assert.equal(pod.status?.phase, "Running");

      await createService(kc, ns, { name: "web", selector: { app: "web" } });
      await waitFor("the endpointslice controller to publish the Ready pod", async () => {
        const slices = await discovery.listNamespacedEndpointSlice({
          namespace: ns,
          labelSelector: "kubernetes.io/service-name=web",
        });
        return slices.items.some((s) =>
          (s.endpoints ?? []).some((e) => e.addresses.includes(pod.status!.podIP!))
        );
      });

      const apps = kc.makeApiClient(AppsV1Api);
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name: "d" },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: "d" } },
            template: {
              metadata: { labels: { app: "d" } },
              spec: { containers: [{ name: "c", image: "x" }] },
            },
          },
        },
      });
      // Real deployment and replicaset controllers: a ReplicaSet and its (unscheduled) pods appear.
      await waitFor("the Deployment's ReplicaSet to create 2 pods", async () => {
        const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({
          namespace: ns,
          labelSelector: "app=d",
        });
        return pods.items.length === 2 &&
          pods.items.every((p) => p.metadata?.ownerReferences?.[0]?.kind === "ReplicaSet");
      });
    } finally {
      await stopAndAssertGone(cluster);
    }
  },
);

Deno.test("a failed start reports the log tail and leaves no process or data behind", async () => {
  const error = await startCluster({ quiet: true, extraArgs: { apiserver: ["--no-such-flag"] } }).then(
    () => assert.fail("expected startCluster to fail with an unknown kube-apiserver flag"),
    (err: Error) => err,
  );
  assert.match(error.message, /kube-apiserver/);
  assert.match(error.message, /unknown flag: --no-such-flag/, "expected the log tail in the error");
  const dataDir = /data dir (\S+) was removed/.exec(error.message)?.[1];
  assert.ok(dataDir, `expected the data dir in the error, found: ${error.message}`);
  assert.ok(!existsSync(dataDir), `expected ${dataDir} to be removed`);
  assert.deepEqual(processesOf(dataDir), []);
});

Deno.test("a test process killed with SIGKILL leaves no cluster process or data behind", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_orphan_cluster.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const started: { dataDir: string; pids: number[] } = JSON.parse((await readLine(reader)) ?? "");
  assert.equal(processesOf(started.dataDir).length >= 3, true, "expected the orphaned cluster to be running");
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  // The supervisors notice within a second that their owner is gone, then stop their servers.
  await waitFor(
    `the processes of ${started.dataDir} to exit and the dir to be removed`,
    () => processesOf(started.dataDir).length === 0 && !existsSync(started.dataDir),
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  for (const pid of started.pids) assert.ok(!running(pid), `expected pid ${pid} to be gone`);
});
