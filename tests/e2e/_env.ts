/**
 * End-to-end environment: a real control plane from the harness, zen-lead's RBAC from deploy/ applied, and the
 * controller started under that ServiceAccount (never an admin token), in-process or as a child process.
 */
import { parseAllDocuments } from "yaml";
import { fileURLToPath } from "node:url";
import type { Cluster } from "../harness/cluster.ts";
import type { KubeletSimulator } from "../harness/kubelet.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../core/kube/client.ts";
import { isAlreadyExists } from "../../core/kube/errors.ts";
import { ConfigMaps } from "../../core/kube/paths.ts";
import type { KubeObject } from "../../core/kube/types.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { type StartOptions, startZenLead, type ZenLeadHandle } from "../../app/start.ts";
import { startSimulatedCluster } from "../harness/simulated_cluster.ts";

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
  const { cluster, kubelet, client } = await startSimulatedCluster();
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

/** startE2E() and one in-process controller started with `args`; resolves once it leads (else stops it all). */
export async function startE2EWithController(
  args: string[] = [],
  opts: StartOptions = {},
): Promise<{ env: E2E; h: ZenLeadHandle }> {
  const env = await startE2E();
  try {
    const h = await env.startController(args, opts);
    await h.activated;
    return { env, h };
  } catch (e) {
    await env.stop();
    throw e;
  }
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

export const noSanitize = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false } as const;

/**
 * Registers one e2e test. A file's tests share one control plane (started by its setup test, stopped by its
 * teardown test), so Deno's op, resource and exit sanitizers are off.
 */
export function e2eTest(name: string, fn: TestFn): void;
/** With options: `ignore` skips the test (say why where the condition is computed). */
export function e2eTest(name: string, opts: { ignore?: boolean }, fn: TestFn): void;
export function e2eTest(name: string, a: TestFn | { ignore?: boolean }, b?: TestFn): void {
  const [opts, fn] = typeof a === "function" ? [{}, a] : [a, b!];
  Deno.test({ name, ...opts, ...noSanitize, fn });
}

type TestFn = (t: Deno.TestContext) => void | Promise<void>;
