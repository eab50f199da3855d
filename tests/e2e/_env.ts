/**
 * End-to-end environment: a real control plane from the harness, zen-lead's RBAC from deploy/ applied, and the
 * controller started under that ServiceAccount (never an admin token), in-process or as a child process.
 */
import { parseAllDocuments } from "yaml";
import { fileURLToPath } from "node:url";
import { type Cluster, startCluster } from "../harness/cluster.ts";
import { KubeletSimulator } from "../harness/kubelet.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../core/kube/client.ts";
import { isAlreadyExists, isNotFound } from "../../core/kube/errors.ts";
import { ConfigMaps, EndpointSlices, Services } from "../../core/kube/paths.ts";
import type { EndpointSlice, KubeObject, Service } from "../../core/kube/types.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { type StartOptions, startZenLead, type ZenLeadHandle } from "../../app/start.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CONTROLLER_NS = "zen-lead-system";

const PLURALS: Record<string, [string, boolean]> = {
  Namespace: ["namespaces", false],
  ServiceAccount: ["serviceaccounts", true],
  ClusterRole: ["clusterroles", false],
  ClusterRoleBinding: ["clusterrolebindings", false],
  Role: ["roles", true],
  RoleBinding: ["rolebindings", true],
  ConfigMap: ["configmaps", true],
  ValidatingAdmissionPolicy: ["validatingadmissionpolicies", false],
  ValidatingAdmissionPolicyBinding: ["validatingadmissionpolicybindings", false],
};

/** Creates every object of a manifest file (YAML, several documents); existing ones are left as they are. */
export async function applyManifest(client: KubeClient, path: string, replace: Record<string, string> = {}) {
  let text = await Deno.readTextFile(ROOT + path);
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    const [plural, namespaced] = PLURALS[obj.kind ?? ""] ?? [];
    if (!plural) throw new Error(`applyManifest: no REST mapping for kind ${obj.kind} in ${path}`);
    const base = obj.apiVersion === "v1" ? "/api/v1" : `/apis/${obj.apiVersion}`;
    const url = namespaced ? `${base}/namespaces/${obj.metadata.namespace}/${plural}` : `${base}/${plural}`;
    try {
      await client.request({ operation: "apply_manifest", method: "POST", path: url, body: obj });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

export interface E2E {
  cluster: Cluster;
  kubelet: KubeletSimulator;
  /** An admin client for the test's own reads and writes. */
  client: KubeClient;
  /** A kubeconfig of the zen-lead ServiceAccount bound by deploy/rbac.yaml. */
  saKubeconfig: string;
  startController(args?: string[], opts?: StartOptions): Promise<ZenLeadHandle>;
  stop(): Promise<void>;
}

export const CONTROLLER_ARGS = [
  "--metrics-bind-address=127.0.0.1:0",
  "--health-probe-bind-address=127.0.0.1:0",
  "--log-level=warn",
];

export async function startE2E(): Promise<E2E> {
  const cluster = await startCluster();
  const kubelet = new KubeletSimulator(cluster.kubeConfig());
  await kubelet.start();
  const client = await KubeClient.fromKubeConfig(cluster.kubeConfig(), {
    metrics: new MetricsRegistry(),
    qps: 0,
  });
  await applyManifest(client, "deploy/namespace.yaml");
  await applyManifest(client, "deploy/rbac.yaml");
  const saKubeconfig = await cluster.serviceAccountKubeconfig(CONTROLLER_NS, "zen-lead", {
    expirationSeconds: 7200,
  });
  const handles: ZenLeadHandle[] = [];
  return {
    cluster,
    kubelet,
    client,
    saKubeconfig,
    async startController(args = [], opts = {}) {
      const h = await startZenLead(["--kubeconfig", saKubeconfig, ...CONTROLLER_ARGS, ...args], {
        env: { POD_NAMESPACE: CONTROLLER_NS, ...opts.env },
        ...opts,
      });
      handles.push(h);
      return h;
    },
    async stop() {
      for (const h of handles) await h.stop(2000).catch(() => {});
      await kubelet.stop();
      client.close();
      await cluster.stop();
    },
  };
}

/**
 * Lets the zen-lead ServiceAccount use one more election Lease: deploy/rbac.yaml grants only the default one
 * (by resourceNames), so a test that runs a second, independent election names its Lease here first.
 */
export async function grantLease(client: KubeClient, lease: string): Promise<void> {
  const name = `zen-lead-lease-${lease}`;
  const rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/" + CONTROLLER_NS;
  const objects: [string, KubeObject & Record<string, unknown>][] = [
    [`${rbac}/roles`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace: CONTROLLER_NS },
      rules: [{
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [lease],
        verbs: ["get", "watch", "update"],
      }],
    }],
    [`${rbac}/rolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: CONTROLLER_NS },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name: "zen-lead", namespace: CONTROLLER_NS }],
    }],
  ];
  for (const [path, body] of objects) {
    try {
      await client.request({ operation: "grant_lease", method: "POST", path, body });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

/** Writes the controller's ConfigMap (config.yaml = `text`), creating it or replacing the current version. */
export async function setControllerConfig(client: KubeClient, text: string): Promise<void> {
  const cm = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "zen-lead-config", namespace: CONTROLLER_NS },
    data: { "config.yaml": text },
  };
  try {
    const cur = await client.get<KubeObject>(ConfigMaps, CONTROLLER_NS, "zen-lead-config");
    await client.replace(ConfigMaps, {
      ...cm,
      metadata: { ...cm.metadata, resourceVersion: cur.metadata.resourceVersion },
    });
  } catch {
    await client.create(ConfigMaps, cm);
  }
}

/** A client for another kubeconfig file (e.g. a ServiceAccount's). */
export function clientFor(path: string): Promise<KubeClient> {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return KubeClient.fromKubeConfig(kc, { metrics: new MetricsRegistry(), qps: 0 });
}

/** Polls `fn` every 10 ms until it returns a value other than undefined; the error names what was awaited. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
  );
}

export async function getService(client: KubeClient, ns: string, name: string): Promise<Service | undefined> {
  try {
    return await client.get<Service>(Services, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function getSlice(
  client: KubeClient,
  ns: string,
  name: string,
): Promise<EndpointSlice | undefined> {
  try {
    return await client.get<EndpointSlice>(EndpointSlices, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** The pod names the leader slice routes to now. */
export async function routedPods(
  client: KubeClient,
  ns: string,
  leader: string,
): Promise<string[] | undefined> {
  const s = await getSlice(client, ns, leader);
  return s ? (s.endpoints ?? []).map((e) => e.targetRef?.name ?? "") : undefined;
}

export function optedInService(
  ns: string,
  name: string,
  o: {
    selector?: Record<string, string>;
    annotations?: Record<string, string>;
    ports?: unknown[];
    type?: string;
  } = {},
): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns, annotations: { "zen-lead.io/enabled": "true", ...o.annotations } },
    spec: {
      type: o.type,
      selector: o.selector ?? { app: name },
      ports: (o.ports as Service["spec"] extends { ports?: infer P } ? P : never) ??
        [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

export const HTTP_PORT = [{ name: "http", containerPort: 8080 }];

/** Events recorded for an object, newest last. */
export async function eventsFor(client: KubeClient, ns: string, name: string) {
  const list = await client.request<
    { items: { reason: string; message: string; type: string; involvedObject: { name: string } }[] }
  >({
    operation: "list_events",
    method: "GET",
    path: `/api/v1/namespaces/${ns}/events`,
    query: { fieldSelector: `involvedObject.name=${name}` },
  });
  return list.items;
}

export const noSanitize = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false } as const;

/** Waits until the leader slice `leader` routes to `pod` first; the error names both. */
export async function leaderIs(
  client: KubeClient,
  ns: string,
  leader: string,
  pod: string,
  timeoutMs?: number,
) {
  await waitFor(
    `${ns}/${leader} to route to ${pod}`,
    async () => (await routedPods(client, ns, leader))?.[0] === pod || undefined,
    timeoutMs,
  );
}

/**
 * Creates pods one after another, a second apart, so "oldest" is unambiguous (creation timestamps have
 * one-second resolution).
 */
export async function agedPods(
  kubelet: KubeletSimulator,
  ns: string,
  names: readonly string[],
  opts: { labels?: Record<string, string>; ports?: typeof HTTP_PORT } = {},
): Promise<Awaited<ReturnType<KubeletSimulator["createPod"]>>[]> {
  const pods = [];
  for (const [i, name] of names.entries()) {
    pods.push(
      await kubelet.createPod(ns, {
        name,
        labels: opts.labels ?? { app: "web" },
        ports: opts.ports ?? HTTP_PORT,
      }),
    );
    if (i < names.length - 1) await new Promise((r) => setTimeout(r, 1001));
  }
  return pods;
}
