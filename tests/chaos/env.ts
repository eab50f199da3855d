/**
 * The chaos suite's world: a control plane with an audit log, the kubelet simulator, Services with pods, and
 * controller replicas as processes, each under its own ServiceAccount and behind its own fault proxy (stall, or
 * a one-way partition). Only processes this suite started are ever signalled, by pid.
 */
import type { Cluster } from "../harness/cluster.ts";
import type { KubeletSimulator } from "../harness/kubelet.ts";
import { PausableProxy } from "../integration/_pausable_proxy.ts";
import { applyManifest, CONTROLLER_NS } from "../e2e/_env.ts";
import { Replica } from "../e2e/_replica.ts";
import type { KubeClient } from "../../core/kube/client.ts";
import { isNotFound } from "../../core/kube/errors.ts";
import { EndpointSlices, Leases, Pods, Services } from "../../core/kube/paths.ts";
import type { EndpointSlice, KubeObject, Lease, Pod, Service } from "../../core/kube/types.ts";
import { type LeaderProblem, leaderProblems } from "./checker.ts";
import { startSimulatedCluster } from "../harness/simulated_cluster.ts";

export const LEASE_NAME = "zen-lead-controller-leader-election";

/** One controller replica: a stable identity, ServiceAccount and proxy; its process may be killed and restarted. */
export class ChaosReplica {
  process: Replica | undefined;
  /** Log lines of this replica's earlier processes. */
  readonly pastLines: Record<string, unknown>[] = [];
  constructor(readonly id: string, readonly kubeconfig: string, readonly proxy: PausableProxy) {}

  get username(): string {
    return `system:serviceaccount:${CONTROLLER_NS}:zen-lead-${this.id}`;
  }

  /** Starts the process; resolves once its caches are synced (a warm standby or the leader). */
  async start(): Promise<void> {
    this.process = new Replica(this.id, this.kubeconfig);
    const deadline = Date.now() + 60_000;
    while (!this.process.logged("caches synced")) {
      if (Date.now() > deadline) throw new Error(`replica ${this.id} did not sync its caches within 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async kill(signal: Deno.Signal): Promise<void> {
    await this.process?.signal(signal);
    this.pastLines.push(...this.process?.lines ?? []);
    this.process = undefined;
  }

  /** Every log line of every process of this replica, oldest first. */
  get lines(): Record<string, unknown>[] {
    return [...this.pastLines, ...this.process?.lines ?? []];
  }
}

export interface ChaosEnv {
  cluster: Cluster;
  kubelet: KubeletSimulator;
  admin: KubeClient;
  ns: string;
  services: string[];
  replicas: ChaosReplica[];
  holder(): Promise<string>;
  problems(): Promise<LeaderProblem[]>;
  /** The pod each Service's leader slice routes to now (undefined when none). */
  routed(): Promise<Map<string, string | undefined>>;
  podsOf(service: string): Promise<Pod[]>;
  /** Stops everything; resolves to the audit log's text, read before the data dir is removed. */
  stop(): Promise<string>;
}

export async function startChaosEnv(
  o: { services: number; podsPerService: number; replicas: number },
): Promise<ChaosEnv> {
  const { cluster, kubelet, client: admin } = await startSimulatedCluster({ auditLog: true }, {
    timeoutMs: 5000,
  });
  await applyManifest(admin, "deploy/namespace.yaml");
  await applyManifest(admin, "deploy/rbac.yaml");
  const url = new URL(cluster.server);
  const replicas: ChaosReplica[] = [];
  for (let i = 0; i < o.replicas; i++) {
    const id = `chaos-${String.fromCharCode(97 + i)}`;
    const sa = `zen-lead-${id}`;
    await createAll(admin, [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: CONTROLLER_NS } },
      binding("ClusterRoleBinding", sa, "ClusterRole", "zen-lead"),
      binding("RoleBinding", sa, "Role", "zen-lead-self"),
    ]);
    const proxy = new PausableProxy({ hostname: url.hostname, port: Number(url.port) });
    const path = await cluster.serviceAccountKubeconfig(CONTROLLER_NS, sa, { expirationSeconds: 86_400 });
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.replace(cluster.server, `https://127.0.0.1:${proxy.port}`));
    replicas.push(new ChaosReplica(id, path, proxy));
  }
  const ns = await cluster.newNamespace("chaos");
  const services = Array.from({ length: o.services }, (_, i) => `svc-${i}`);
  await kubelet.createPods(
    ns,
    o.services * o.podsPerService,
    (i) => ({
      name: `svc-${Math.floor(i / o.podsPerService)}-p${i % o.podsPerService}`,
      labels: { app: `svc-${Math.floor(i / o.podsPerService)}` },
      ports: [{ name: "http", containerPort: 8080 }],
    }),
    { concurrency: 16 },
  );
  for (const name of services) {
    await admin.create<Service>(Services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns, annotations: { "zen-lead.io/enabled": "true" } },
      spec: {
        selector: { app: name },
        ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
      },
    });
  }
  for (const r of replicas) await r.start();

  const listAll = async () => {
    const [svcs, pods, slices] = await Promise.all([
      admin.list<Service>(Services, { namespace: ns }),
      admin.list<Pod>(Pods, { namespace: ns }),
      admin.list<EndpointSlice>(EndpointSlices, {
        namespace: ns,
        labelSelector: "app.kubernetes.io/managed-by=zen-lead",
      }),
    ]);
    return { services: svcs.items, pods: pods.items, slices: slices.items };
  };
  return {
    cluster,
    kubelet,
    admin,
    ns,
    services,
    replicas,
    async holder() {
      try {
        const l = await admin.get<Lease>(Leases, CONTROLLER_NS, LEASE_NAME, {
          maxRetries: 0,
          timeoutMs: 2000,
        });
        return l.spec?.holderIdentity ?? "";
      } catch (e) {
        if (isNotFound(e)) return "";
        throw e;
      }
    },
    async problems() {
      const all = await listAll();
      return leaderProblems(all.services, all.pods, all.slices);
    },
    async routed() {
      const all = await listAll();
      const out = new Map<string, string | undefined>();
      for (const name of services) {
        const s = all.slices.find((x) => x.metadata.name === `${name}-leader`);
        out.set(name, s?.endpoints?.[0]?.targetRef?.name);
      }
      return out;
    },
    async podsOf(service) {
      const list = await admin.list<Pod>(Pods, { namespace: ns, labelSelector: `app=${service}` });
      return list.items;
    },
    async stop() {
      for (const r of replicas) {
        await r.kill("SIGTERM").catch(() => {});
        await r.proxy.close();
      }
      const logDir = Deno.env.get("ZEN_LEAD_CHAOS_LOGS");
      if (logDir) {
        for (const r of replicas) {
          await Deno.writeTextFile(
            `${logDir}/${r.id}.log`,
            r.lines.map((l) => JSON.stringify(l)).join("\n") + "\n",
          );
        }
      }
      const audit = await Deno.readTextFile(cluster.auditLogPath!).catch(() => "");
      await kubelet.stop();
      admin.close();
      await cluster.stop();
      return audit;
    },
  };
}

function binding(
  kind: "ClusterRoleBinding" | "RoleBinding",
  sa: string,
  roleKind: string,
  role: string,
): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: { name: sa, ...(kind === "RoleBinding" ? { namespace: CONTROLLER_NS } : {}) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name: role },
    subjects: [{ kind: "ServiceAccount", name: sa, namespace: CONTROLLER_NS }],
  } as KubeObject;
}

async function createAll(client: KubeClient, objs: KubeObject[]): Promise<void> {
  for (const obj of objs) {
    const group = obj.apiVersion === "v1" ? "/api/v1" : `/apis/${obj.apiVersion}`;
    const plural = {
      ServiceAccount: "serviceaccounts",
      ClusterRoleBinding: "clusterrolebindings",
      RoleBinding: "rolebindings",
    }[
      obj.kind as string
    ];
    const path = obj.metadata.namespace
      ? `${group}/namespaces/${obj.metadata.namespace}/${plural}`
      : `${group}/${plural}`;
    await client.request({ operation: "create", method: "POST", path, body: obj });
  }
}
