// Pod and node lifecycle without kubelets: what a kubelet would write, written through the API.
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ContainerPort,
  type V1Node,
  type V1OwnerReference,
  type V1Pod,
  type V1PodCondition,
  type V1PodStatus,
  type V1Taint,
} from "@kubernetes/client-node";
import { type IPFamilyChoice, PodIPPool } from "./ip_pool.ts";
import { runBounded } from "./pool.ts";
import { RestClient } from "./rest.ts";
import { type PodEventType, watchAllPods } from "./pod_watch.ts";
import {
  CONTAINER,
  containerStatus,
  fakeNodeInfo,
  IMAGE,
  nodeReadyCondition,
  runningPodStatus,
} from "./kubelet_status.ts";
import { errorText, httpStatus, sleep } from "./wait.ts";

export interface NodeOptions {
  /** topology.kubernetes.io/zone */
  zone?: string;
  /** topology.kubernetes.io/region */
  region?: string;
  labels?: Record<string, string>;
  /** InternalIP address; default allocated from 10.89.0.0/16 (never contacted: it is only data). */
  internalIP?: string;
  /** Ready condition; default true. */
  ready?: boolean;
}

export interface PodOptions {
  /** Default: generated from `generateName` ("pod-"). */
  name?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Named container ports (Services and health checks refer to them by name). */
  ports?: V1ContainerPort[];
  /** Requested pod address(es), e.g. "127.0.0.5" for health-check tests or an IPv6 address; first is primary. */
  ip?: string | string[];
  /** Family of allocated addresses when `ip` is absent; default "IPv4". */
  family?: IPFamilyChoice;
  /** Node the pod is bound to; default the simulator's default node (created on first use). */
  node?: string;
  /** Ready and ContainersReady conditions; default true. */
  ready?: boolean;
  ownerReferences?: V1OwnerReference[];
  /** spec.terminationGracePeriodSeconds; default 30 like the API default. */
  terminationGracePeriodSeconds?: number;
}

export interface DeleteOptions {
  /** Seconds between the DELETE (deletionTimestamp set) and the kubelet's final delete; default 1. */
  graceSeconds?: number;
  /** Mark the pod not Ready right after the DELETE, as a kubelet does once containers are stopping. */
  markNotReady?: boolean;
}

/** What createPods returns for each pod. */
export interface SimulatedPod {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  /** status.podIPs, primary first. */
  podIPs: string[];
}

export const DEFAULT_NODE = "zen-lead-node-1";
const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const NODE_TAINTS = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];
/** On pods whose creator reports their status itself (createPod/createPods): the watch leaves them alone. */
const STARTED_BY_CREATOR = "zen-lead.test/started-by-creator";

/** Pretends to be the kubelets of a set of fake nodes. One instance per cluster (it owns an IP pool). */
export class KubeletSimulator {
  readonly core: CoreV1Api;
  readonly ips: PodIPPool;
  #nodeIPs = new Map<string, string>();
  #nodeCount = 0;
  #defaultNode: Promise<unknown> | undefined;
  #kc: KubeConfig;
  #watch: AbortController | undefined;
  #running = false;
  #rest: RestClient | undefined;
  /** Pods (by uid) this simulator is binding or starting, so events that repeat do not start them twice. */
  #starting = new Set<string>();
  #bindings = 0;
  /** Final deletions scheduled by the running simulator, by pod uid. */
  #finishing = new Map<string, ReturnType<typeof setTimeout>>();

  #exitAfterMs: number;

  /**
   * `exitAfterSeconds`: how long a simulated container takes to exit after SIGTERM (default 1); once
   * started, the simulator finishes a deletion after that or the pod's grace period, whichever is shorter.
   */
  constructor(kc: KubeConfig, opts: { ips?: PodIPPool; exitAfterSeconds?: number } = {}) {
    this.#kc = kc;
    this.#exitAfterMs = (opts.exitAfterSeconds ?? 1) * 1000;
    this.core = kc.makeApiClient(CoreV1Api);
    this.ips = opts.ips ?? new PodIPPool();
  }

  /** Registers a Ready node with addresses and the usual labels, as a kubelet does at start. */
  async createNode(name: string, opts: NodeOptions = {}): Promise<V1Node> {
    const n = ++this.#nodeCount;
    const internalIP = opts.internalIP ?? `10.89.${Math.floor(n / 254)}.${(n % 254) + 1}`;
    const labels: Record<string, string> = {
      "kubernetes.io/hostname": name,
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      ...(opts.zone ? { "topology.kubernetes.io/zone": opts.zone } : {}),
      ...(opts.region ? { "topology.kubernetes.io/region": opts.region } : {}),
      ...opts.labels,
    };
    await this.core.createNode({ body: { metadata: { name, labels } } });
    this.#nodeIPs.set(name, internalIP);
    const now = new Date();
    // Node status is a subresource: written separately, as the kubelet's status loop does.
    return await this.core.patchNodeStatus({
      name,
      body: {
        status: {
          addresses: [{ type: "InternalIP", address: internalIP }, { type: "Hostname", address: name }],
          conditions: [nodeReadyCondition(opts.ready ?? true ? "True" : "False", now, now)],
          capacity: { cpu: "8", memory: "32Gi", pods: "1000" },
          allocatable: { cpu: "8", memory: "32Gi", pods: "1000" },
          nodeInfo: fakeNodeInfo(),
        },
      },
    }, MERGE_PATCH);
  }

  /**
   * Sets the node's Ready condition. With `taint` (default true) also sets or clears the taints the
   * node lifecycle controller would: not-ready for False, unreachable for Unknown (NoSchedule + NoExecute).
   */
  async setNodeReady(
    name: string,
    ready: boolean | "Unknown",
    opts: { taint?: boolean } = {},
  ): Promise<V1Node> {
    const status = ready === "Unknown" ? "Unknown" : ready ? "True" : "False";
    const node = await this.core.readNode({ name });
    const now = new Date();
    const previous = node.status?.conditions?.find((c) => c.type === "Ready");
    const since = previous?.status === status && previous.lastTransitionTime
      ? previous.lastTransitionTime
      : now;
    const others = (node.status?.conditions ?? []).filter((c) => c.type !== "Ready");
    let updated = await this.core.patchNodeStatus({
      name,
      body: { status: { conditions: [...others, nodeReadyCondition(status, now, since)] } },
    }, MERGE_PATCH);
    if (opts.taint ?? true) {
      const kept = (node.spec?.taints ?? []).filter((t) => !NODE_TAINTS.includes(t.key));
      const key = status === "False" ? NODE_TAINTS[0] : status === "Unknown" ? NODE_TAINTS[1] : undefined;
      const added: V1Taint[] = key
        ? [{ key, effect: "NoSchedule" }, { key, effect: "NoExecute", timeAdded: now }]
        : [];
      updated = await this.core.patchNode(
        { name, body: { spec: { taints: [...kept, ...added] } } },
        MERGE_PATCH,
      );
    }
    return updated;
  }

  /** Creates a pod bound to a node (no scheduler runs) and reports it Running with IPs, as its kubelet would. */
  async createPod(namespace: string, opts: PodOptions = {}): Promise<V1Pod> {
    const plan = await this.#planPod(opts);
    const created = await retryMissingServiceAccount(() =>
      this.core.createNamespacedPod({ namespace, body: plan.manifest })
    );
    const name = created.metadata!.name!;
    return await this.core.patchNamespacedPodStatus(
      { namespace, name, body: { status: plan.status(name) } },
      MERGE_PATCH,
    );
  }

  /**
   * Bulk createPod for benchmarks: `count` pods, `template(i)` giving each one's options, at most
   * `concurrency` pods in flight. Talks to the API server with Deno's fetch instead of client-node
   * (less client CPU), and returns a summary per pod rather than whole objects (15,000 pods).
   */
  async createPods(
    namespace: string,
    count: number,
    template: (i: number) => PodOptions = () => ({}),
    opts: { concurrency?: number } = {},
  ): Promise<SimulatedPod[]> {
    const rest = RestClient.fromKubeConfig(this.#kc);
    try {
      return await runBounded(count, opts.concurrency ?? 32, async (i) => {
        const plan = await this.#planPod(template(i));
        const pods = `/api/v1/namespaces/${namespace}/pods`;
        const created = await retryMissingServiceAccount(() =>
          rest.request<V1Pod>("POST", pods, { body: plan.manifest })
        );
        const name = created.metadata!.name!;
        await rest.request<unknown>("PATCH", `${pods}/${name}/status`, {
          body: { status: plan.status(name) },
          contentType: PatchStrategy.MergePatch,
        });
        return { namespace, name, uid: created.metadata!.uid!, node: plan.node, podIPs: plan.ips };
      });
    } finally {
      rest.close();
    }
  }

  /** The pod to create and, once it has a name, the status its kubelet reports. */
  async #planPod(opts: PodOptions): Promise<{
    node: string;
    ips: string[];
    manifest: V1Pod;
    status: (name: string) => V1PodStatus;
  }> {
    const node = opts.node ?? DEFAULT_NODE;
    if (!opts.node) await this.#ensureDefaultNode();
    const ready = opts.ready ?? true;
    const ips = opts.ip === undefined ? this.ips.allocate(opts.family) : [opts.ip].flat();
    const hostIP = this.#nodeIPs.get(node);
    const manifest: V1Pod = {
      metadata: {
        ...(opts.name ? { name: opts.name } : { generateName: opts.generateName ?? "pod-" }),
        labels: opts.labels,
        annotations: { ...opts.annotations, [STARTED_BY_CREATOR]: "true" },
        ownerReferences: opts.ownerReferences,
      },
      spec: {
        nodeName: node,
        // Pod Security "restricted" compliant, so the simulated pods are admitted in namespaces that enforce it.
        securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{
          name: CONTAINER,
          image: IMAGE,
          ports: opts.ports,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        }],
        terminationGracePeriodSeconds: opts.terminationGracePeriodSeconds,
        automountServiceAccountToken: false,
      },
    };
    const status = (name: string): V1PodStatus => {
      const now = new Date();
      return runningPodStatus(ips, hostIP, ready, now, [containerStatus(name, ready, now)]);
    };
    return { node, ips, manifest, status };
  }

  /** Flips the Ready and ContainersReady conditions (and the container's ready flag); transition times move only on change. */
  async setPodReady(namespace: string, name: string, ready: boolean): Promise<V1Pod> {
    const pod = await this.core.readNamespacedPodStatus({ namespace, name });
    const now = new Date();
    const wanted = ready ? "True" : "False";
    const conditions = (pod.status?.conditions ?? []).map((c): V1PodCondition =>
      (c.type === "Ready" || c.type === "ContainersReady") && c.status !== wanted
        ? { ...c, status: wanted, lastTransitionTime: now, reason: ready ? undefined : "ContainersNotReady" }
        : c
    );
    const started = pod.status?.startTime ?? now;
    return await this.core.patchNamespacedPodStatus({
      namespace,
      name,
      body: { status: { conditions, containerStatuses: [containerStatus(name, ready, started)] } },
    }, MERGE_PATCH);
  }

  /**
   * Deletes a pod as a user and then its kubelet would: the DELETE only sets deletionTimestamp (the pod
   * is bound to a node), and after the grace period the "kubelet" deletes it with gracePeriodSeconds=0.
   * Resolves once the pod is gone.
   */
  async deletePodGracefully(namespace: string, name: string, opts: DeleteOptions = {}): Promise<void> {
    const graceSeconds = opts.graceSeconds ?? 1;
    const terminating = await this.core.deleteNamespacedPod({
      namespace,
      name,
      gracePeriodSeconds: graceSeconds,
    });
    const uid = terminating.metadata?.uid;
    if (graceSeconds > 0 && opts.markNotReady) await this.setPodReady(namespace, name, false);
    if (graceSeconds > 0) await sleep(graceSeconds * 1000);
    try {
      await this.core.deleteNamespacedPod({
        namespace,
        name,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: uid ? { uid } : undefined },
      });
    } catch (err) {
      // 404: already gone; 409: a different pod with the same name exists now (precondition failed).
      if (httpStatus(err) !== 404 && httpStatus(err) !== 409) throw err;
    }
  }

  /**
   * Starts acting like the kubelets (and the scheduler) of its nodes for pods made by others (a Deployment, the
   * garbage collector, a test): an unscheduled pod is bound to one of this simulator's nodes, a pod bound to one
   * is started (Running, Ready, an IP), and a terminating one is deleted for good once its container "exited".
   */
  start(): Promise<void> {
    if (this.#running) return Promise.resolve();
    this.#running = true;
    this.#rest = RestClient.fromKubeConfig(this.#kc);
    this.#watch = new AbortController();
    void watchAllPods(this.#rest, (type, pod) => this.#onPod(type, pod), this.#watch.signal, {
      onError: (e) => {
        if (this.#running) console.error(`[kubelet] pod watch failed, restarting: ${errorText(e)}`);
      },
    });
    return Promise.resolve();
  }

  /** Stops the watch and drops scheduled final deletions. */
  stop(): Promise<void> {
    this.#running = false;
    this.#watch?.abort();
    this.#rest?.close();
    this.#rest = undefined;
    for (const timer of this.#finishing.values()) clearTimeout(timer);
    this.#finishing.clear();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #ownsNode(node: string | undefined): boolean {
    return !!node && (this.#nodeIPs.has(node) || node === DEFAULT_NODE);
  }

  #onPod(type: PodEventType, pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    const node = pod.spec?.nodeName;
    if (!uid) return;
    if (type === "DELETED") {
      clearTimeout(this.#finishing.get(uid));
      this.#finishing.delete(uid);
      this.#starting.delete(uid);
      return;
    }
    const deletion = pod.metadata?.deletionTimestamp;
    if (deletion) {
      if (!this.#ownsNode(node) || this.#finishing.has(uid)) return;
      // deletionTimestamp is when the grace period ends; a container that exits earlier ends it early.
      const graceLeftMs = Math.max(0, new Date(deletion).getTime() - Date.now());
      const delayMs = Math.min(graceLeftMs, this.#exitAfterMs);
      this.#finishing.set(uid, setTimeout(() => this.#finishDeletion(pod), delayMs));
      return;
    }
    if (pod.metadata?.annotations?.[STARTED_BY_CREATOR] || this.#starting.has(uid)) return;
    const phase = pod.status?.phase ?? "Pending";
    if (phase !== "Pending") return;
    if (!node) {
      this.#starting.add(uid);
      this.#bind(pod).catch((e) => this.#gaveUp(uid, `bind ${pod.metadata?.name}`, e));
    } else if (this.#ownsNode(node)) {
      this.#starting.add(uid);
      this.#startPod(pod, node).catch((e) => this.#gaveUp(uid, `start ${pod.metadata?.name}`, e));
    }
  }

  #gaveUp(uid: string, what: string, e: unknown): void {
    this.#starting.delete(uid);
    // 404/409: deleted meanwhile, or another simulator was first.
    if (this.#running && httpStatus(e) !== 404 && httpStatus(e) !== 409) {
      console.error(`[kubelet] ${what} failed: ${errorText(e)}`);
    }
  }

  /** What the scheduler would do: bind to this simulator's nodes in turn (the default node when it has none). */
  async #bind(pod: V1Pod): Promise<void> {
    const { namespace, name } = pod.metadata!;
    const nodes = [...this.#nodeIPs.keys()];
    if (nodes.length === 0) await this.#ensureDefaultNode();
    const node = nodes.length ? nodes[this.#bindings++ % nodes.length] : DEFAULT_NODE;
    await this.#rest!.request("POST", `/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
      body: {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name },
        target: { apiVersion: "v1", kind: "Node", name: node },
      },
    });
    // Its MODIFIED event (now with nodeName) may come before this answer: start it here, not from the event.
    await this.#startPod(pod, node);
  }

  /** What the pod's kubelet would report once its containers run: Running, Ready, an IP from the pool. */
  async #startPod(pod: V1Pod, node: string): Promise<void> {
    const { namespace, name } = pod.metadata!;
    const ips = this.ips.allocate();
    const hostIP = this.#nodeIPs.get(node);
    const now = new Date();
    const containers = pod.spec?.containers ?? [];
    await this.#rest!.request("PATCH", `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
      body: {
        status: runningPodStatus(
          ips,
          hostIP,
          true,
          now,
          containers.map((c) => ({
            ...containerStatus(name!, true, now),
            name: c.name,
            image: c.image ?? IMAGE,
          })),
        ),
      },
      contentType: PatchStrategy.MergePatch,
    });
  }

  async #finishDeletion(pod: V1Pod): Promise<void> {
    const { name, namespace, uid } = pod.metadata ?? {};
    if (!name || !namespace || !this.#running) return;
    try {
      await this.core.deleteNamespacedPod({
        namespace,
        name,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err) {
      if (httpStatus(err) !== 404 && httpStatus(err) !== 409) {
        console.error(`[kubelet] final delete of ${namespace}/${name} failed: ${err}`);
      }
    }
  }

  #ensureDefaultNode(): Promise<unknown> {
    this.#defaultNode ??= this.createNode(DEFAULT_NODE).catch(async (err) => {
      if (httpStatus(err) !== 409) throw err;
      // Registered by another simulator on this cluster: learn its address.
      const node = await this.core.readNode({ name: DEFAULT_NODE });
      const ip = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
      if (ip) this.#nodeIPs.set(DEFAULT_NODE, ip);
    });
    return this.#defaultNode;
  }
}

/** Until the serviceaccount controller has created `default`, pod creation is rejected; retry briefly. */
async function retryMissingServiceAccount<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await create();
    } catch (err) {
      const missingServiceAccount = httpStatus(err) === 403 && errorText(err).includes("serviceaccount");
      if (!missingServiceAccount || attempt >= 100) throw err;
      await sleep(100);
    }
  }
}
