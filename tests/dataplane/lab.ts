/**
 * A data-plane lab: the harness's control plane, the topology of topology.ts, the real kube-proxy in the node
 * namespace, pods as real servers in their own namespaces (Pod objects whose status carries those IPs), the
 * controller as a child process in its own namespace under its ServiceAccount, and clients in theirs.
 * `await using lab = await startLab()` removes every namespace, process and file, even when a test fails.
 */
import { join } from "node:path";
import { type Cluster, startCluster } from "../harness/cluster.ts";
import { KubeletSimulator } from "../harness/kubelet.ts";
import { ensureBinaries } from "../harness/k8s_binaries.ts";
import type { SupervisedProcess } from "../harness/process.ts";
import { KubeClient } from "../../core/kube/client.ts";
import { Services } from "../../core/kube/paths.ts";
import type { Service } from "../../core/kube/types.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { applyManifest, CONTROLLER_NS, ROOT } from "../e2e/_env.ts";
import { optedInService } from "../e2e/_fixtures.ts";
import { type KubeProxy, startKubeProxy } from "./kube_proxy.ts";
import { hostToUnix, httpGetUnix, Processes, tcpInNsToUnix, unixToTcpInNs } from "./processes.ts";
import { NODE_IP, type PodSlot, SERVICE_CIDR, Topology } from "./topology.ts";
import { ClientLog } from "./client_log.ts";

export const NODE_NAME = "dataplane-node";
/** Inside the node and controller namespaces, the API server is at https://127.0.0.1:6443 (a relay). */
const IN_NS_API_PORT = 6443;
const CONTROLLER_HEALTH_PORT = 8081;
const CONTROLLER_METRICS_PORT = 8080;
export const POD_PORTS = [{ name: "http", containerPort: 8080 }, { name: "tcp", containerPort: 9000 }];
export const SERVICE_PORTS = [
  { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
  { name: "tcp", port: 9000, targetPort: "tcp", protocol: "TCP" },
];
const POD_SERVER = join(ROOT, "tests/dataplane/_pod_server.ts");
const CLIENT = join(ROOT, "tests/dataplane/_client.ts");

/** A Pod object and the server process that plays its container, in one pod slot. */
export interface LabPod {
  name: string;
  slot: PodSlot;
  server: SupervisedProcess;
}

export interface Lab extends AsyncDisposable {
  cluster: Cluster;
  kubelet: KubeletSimulator;
  client: KubeClient;
  topology: Topology;
  kubeProxy: KubeProxy;
  procs: Processes;
  ns: string;
  /** Starts the pod's server in `slot`, then creates the Pod (Running, Ready, with the slot's IP). */
  startPod(slot: PodSlot, name: string): Promise<LabPod>;
  /** Only the Pod object (Running, Ready, the slot's IP), for tests that run their own server in the slot. */
  createPodObject(
    namespace: string,
    slot: PodSlot,
    name: string,
    ports: { name: string; containerPort: number }[],
  ): Promise<void>;
  /** Starts the pod's server process again (after killServer), same name, same slot. */
  restartServer(pod: LabPod): Promise<void>;
  /** SIGKILL to the server process: the pod's application dies, the Pod object stays. */
  killServer(pod: LabPod): Promise<void>;
  /** Creates the opted-in Service `web` and returns the leader Service's ClusterIP once it has one. */
  createService(annotations?: Record<string, string>): Promise<string>;
  /** Starts a client in the client namespace; `fresh`: a new connection every `everyMs`. */
  startClient(
    mode: "fresh" | "long",
    ip: string,
    port: number,
    everyMs: number,
    timeoutMs?: number,
  ): ClientLog;
  /** The controller's /metrics text. */
  controllerMetrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface LabOptions {
  pods: number;
  /** Extra controller flags. */
  controllerArgs?: string[];
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  const binaries = await ensureBinaries();
  const runDir = await Deno.makeTempDir({ prefix: "zen-lead-dataplane-" });
  const procs = new Processes(runDir);
  let cluster: Cluster | undefined;
  let topology: Topology | undefined;
  let kubelet: KubeletSimulator | undefined;
  let client: KubeClient | undefined;
  // A run ended by a signal (netns.ts exits on SIGINT/SIGTERM) still removes its files.
  const removeRunDir = () => {
    try {
      Deno.removeSync(runDir, { recursive: true });
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", removeRunDir);
  const cleanup = async () => {
    globalThis.removeEventListener("unload", removeRunDir);
    await procs.stopAll();
    await topology?.destroy();
    await kubelet?.stop().catch(() => {});
    client?.close();
    await cluster?.stop().catch(() => {});
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  };
  try {
    cluster = await startCluster({ serviceClusterIPRange: SERVICE_CIDR, quiet: true });
    topology = await Topology.create(opts.pods);
    const apiSocket = join(runDir, "api.sock");
    hostToUnix(procs, apiSocket, Number(new URL(cluster.server).port));
    for (const ns of [topology.node, topology.controller]) {
      tcpInNsToUnix(procs, ns, IN_NS_API_PORT, apiSocket);
    }
    const inNs = async (path: string, out: string) => {
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(out, text.replaceAll(cluster!.server, `https://127.0.0.1:${IN_NS_API_PORT}`), {
        mode: 0o600,
      });
      return out;
    };

    kubelet = new KubeletSimulator(cluster.kubeConfig());
    await kubelet.start();
    // kube-proxy waits 30 s for a Node with an address unless it exists first.
    await kubelet.createNode(NODE_NAME, { internalIP: NODE_IP });
    const kubeProxy = await startKubeProxy({
      procs,
      binary: binaries.kubeProxy,
      node: topology.node,
      nodeName: NODE_NAME,
      kubeconfig: await inNs(cluster.kubeconfigPath, join(runDir, "kube-proxy.kubeconfig")),
      runDir,
    });

    client = await KubeClient.fromKubeConfig(cluster.kubeConfig(), {
      metrics: new MetricsRegistry(),
      qps: 0,
    });
    await applyManifest(client, "deploy/namespace.yaml");
    await applyManifest(client, "deploy/rbac.yaml");
    const sa = await cluster.serviceAccountKubeconfig(CONTROLLER_NS, "zen-lead", { expirationSeconds: 7200 });
    const controller = procs.start("zen-lead", topology.controller, Deno.execPath(), [
      "run",
      "-A",
      join(ROOT, "main.ts"),
      `--kubeconfig=${await inNs(sa, join(runDir, "zen-lead.kubeconfig"))}`,
      `--metrics-bind-address=127.0.0.1:${CONTROLLER_METRICS_PORT}`,
      `--health-probe-bind-address=127.0.0.1:${CONTROLLER_HEALTH_PORT}`,
      "--leader-elect=false",
      "--log-level=warn",
      ...(opts.controllerArgs ?? []),
    ], { POD_NAMESPACE: CONTROLLER_NS, NO_COLOR: "1" });
    const healthSocket = join(runDir, "zen-lead-health.sock");
    const metricsSocket = join(runDir, "zen-lead-metrics.sock");
    unixToTcpInNs(procs, topology.controller, healthSocket, CONTROLLER_HEALTH_PORT);
    unixToTcpInNs(procs, topology.controller, metricsSocket, CONTROLLER_METRICS_PORT);
    await until("the controller's /readyz", 60_000, async () => {
      if (controller.status) throw new Error(`zen-lead exited:\n${controller.logTail(30)}`);
      await httpGetUnix(healthSocket, "/readyz");
      return true;
    }, () => controller.logTail(20));

    const ns = await cluster.newNamespace("dataplane");
    const topo = topology;
    const sim = kubelet;
    const admin = client;
    const c = cluster;
    const startServer = async (slot: PodSlot, name: string) => {
      const server = procs.start(`pod-${name}`, slot.ns, Deno.execPath(), [
        "run",
        "--no-config",
        "--no-lock",
        "--allow-net",
        POD_SERVER,
        name,
      ]);
      await until(`the server of pod ${name} to listen`, 30_000, async () => {
        if (server.status) throw new Error(`its server exited:\n${server.logTail(10)}`);
        return (await Deno.readTextFile(server.logPath).catch(() => "")).includes("listening") || undefined;
      }, () => server.logTail(10));
      return server;
    };
    const lab: Lab = {
      cluster: c,
      kubelet: sim,
      client: admin,
      topology: topo,
      kubeProxy,
      procs,
      ns,
      async startPod(slot, name) {
        const server = await startServer(slot, name);
        await sim.createPod(ns, {
          name,
          labels: { app: "web" },
          ip: slot.ip,
          ports: POD_PORTS,
          node: NODE_NAME,
        });
        return { name, slot, server };
      },
      async createPodObject(namespace, slot, name, ports) {
        await sim.createPod(namespace, { name, labels: { app: "web" }, ip: slot.ip, ports, node: NODE_NAME });
      },
      async restartServer(pod) {
        await procs.stop(pod.server).catch(() => {});
        pod.server = await startServer(pod.slot, pod.name);
      },
      async killServer(pod) {
        const pid = pod.server.serverPid;
        if (!pid) throw new Error(`expected the server of pod ${pod.name} to have a pid, found none`);
        Deno.kill(pid, "SIGKILL");
        await pod.server.exited;
      },
      async createService(annotations = {}) {
        await admin.create<Service>(
          Services,
          optedInService(ns, "web", { annotations, ports: SERVICE_PORTS }),
        );
        return await until("web-leader to have a ClusterIP", 30_000, async () => {
          const svc = await admin.get<Service>(Services, ns, "web-leader").catch(() => undefined);
          return svc?.spec?.clusterIP || undefined;
        });
      },
      startClient(mode, ip, port, everyMs, timeoutMs = 1000) {
        const p = procs.start(`client-${mode}`, topo.client, Deno.execPath(), [
          "run",
          "--no-config",
          "--no-lock",
          "--allow-net",
          CLIENT,
          mode,
          ip,
          String(port),
          String(everyMs),
          String(timeoutMs),
        ]);
        return new ClientLog(p, procs);
      },
      controllerMetrics: () => httpGetUnix(metricsSocket, "/metrics"),
      stop: cleanup,
      [Symbol.asyncDispose]: cleanup,
    };
    return lab;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Polls `check` every 50 ms until it returns a value; the error names what was awaited and `context()`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  context?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (true) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${what} within ${timeoutMs} ms, found: ${last || "not yet"}${
          context ? `\n${context()}` : ""
        }`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
