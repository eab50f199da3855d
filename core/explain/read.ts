/**
 * The I/O side of `zen-lead explain`: reads a Service, its pods, the Nodes, zen-lead's managed objects and the
 * ConfigMap with the user's kubeconfig; sets up the same plugin kernel the controller runs (built-ins only: code
 * named in the cluster's ConfigMap is not run on the user's machine); asks the controller for probe results.
 */
import type { KubeClient } from "../kube/client.ts";
import { isForbidden, isNotFound } from "../kube/errors.ts";
import { ConfigMaps, EndpointSlices, Leases, Nodes, Pods, Services } from "../kube/paths.ts";
import type { ConfigMap, EndpointSlice, KubeObject, Node, Pod, Service } from "../kube/types.ts";
import { CONFIG_KEY, parseConfigText } from "../config/parse.ts";
import type { ServiceDefaults } from "../config/schema.ts";
import { serviceDefaultsProblems } from "../config/checks.ts";
import { type KernelParts, PluginKernel, type PluginSpec } from "../plugin/kernel.ts";
import { ReplicaActivity } from "../plugin/replica_activity.ts";
import { settingsContextOf } from "../plugin/settings_context.ts";
import { RootLogger } from "../log.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { isManagedFor } from "../leader/desired_objects.ts";
import { LABEL } from "../leader/annotations.ts";
import type { ProbeState } from "../probing/threshold.ts";
import type { ControllerStatus } from "../status/model.ts";
import type { ExplainInput, HealthReport } from "./explain.ts";
import type { Warning } from "./model.ts";
import { settingsFromReport } from "../status/reported_settings.ts";

export interface ClusterSnapshotOptions {
  client: KubeClient;
  /** The plugins and last-resort ranking the controller's kernel gets. */
  kernelParts: KernelParts;
  configMap: { namespace: string; name: string };
  /** The controller's status endpoint; absent: the active replica's pod through the API server's proxy. */
  statusURL?: string;
  /** Lease of the controller replicas (to find the active pod for the proxy). */
  leaseName: string;
  /** Port of the controller's metrics address, where /status is served. */
  metricsPort: number;
  now?: () => number;
}

async function orUndefined<T>(p: Promise<T>, also: (e: unknown) => boolean = () => false) {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e) || also(e)) return undefined;
    throw e;
  }
}

/** A kernel like the controller's, configured from the ConfigMap; plugin modules are named, not loaded. */
export async function explainKernel(
  configMap: ConfigMap | undefined,
  parts: KernelParts,
): Promise<{ kernel: PluginKernel; defaults?: ServiceDefaults; configuration: string; warnings: Warning[] }> {
  const logger = new RootLogger("error");
  // Never active: a backend set up here must not act on the cloud.
  const kernel = new PluginKernel({
    ...parts,
    logger,
    metrics: new MetricsRegistry(),
    leadership: new ReplicaActivity(),
  });
  const warnings: Warning[] = [];
  const where = configMap
    ? `ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name} (resourceVersion ${configMap.metadata.resourceVersion})`
    : "no ConfigMap: built-in defaults";
  const parsed = parseConfigText(configMap?.data?.[CONFIG_KEY] ?? "");
  if (!parsed.ok) {
    warnings.push({
      kind: "InvalidConfiguration",
      message: `${where} is refused (${parsed.problems.join("; ")}); the controller keeps its last good one`,
    });
    await kernel.configure([]);
    return { kernel, configuration: `${where}, refused; built-in defaults shown`, warnings };
  }
  const specs: PluginSpec[] = [];
  for (const e of parsed.config.plugins ?? []) {
    if (e.module !== undefined) {
      warnings.push({
        kind: "PluginNotLoaded",
        message: `plugin "${e.name}" comes from module ${e.module}; explain does not run code named in the ` +
          `cluster, so Services using it cannot be explained here`,
      });
      continue;
    }
    specs.push({ name: e.name, enabled: e.enabled, options: e.options });
  }
  await kernel.configure(specs, (staged) => serviceDefaultsProblems(parsed.config.defaults, staged));
  return { kernel, defaults: parsed.config.defaults, configuration: where, warnings };
}

/** The controller's status document, or why it could not be read. */
export async function readControllerStatus(
  client: KubeClient,
  o: Pick<ClusterSnapshotOptions, "statusURL" | "leaseName" | "metricsPort" | "configMap">,
): Promise<{ status?: ControllerStatus; message: string }> {
  let from: string;
  try {
    if (o.statusURL) {
      from = o.statusURL;
      const res = await fetch(o.statusURL, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      const status = await res.json() as ControllerStatus;
      return { status, message: describeSource(status, from) };
    }
    const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(
      Leases,
      o.configMap.namespace,
      o.leaseName,
    );
    const pod = lease.spec?.holderIdentity;
    if (!pod) throw new Error(`Lease ${o.configMap.namespace}/${o.leaseName} has no holder`);
    from = `pod ${o.configMap.namespace}/${pod} through the API server proxy`;
    const status = await client.request<ControllerStatus>({
      operation: "proxy_status",
      method: "GET",
      path: `/api/v1/namespaces/${o.configMap.namespace}/pods/${pod}:${o.metricsPort}/proxy/status`,
      maxRetries: 0,
    });
    return { status, message: describeSource(status, from) };
  } catch (e) {
    const target = o.statusURL ?? `the active replica of Lease ${o.configMap.namespace}/${o.leaseName}`;
    return {
      message: `the controller's status endpoint (${target}) is not reachable: ${(e as Error).message}; ` +
        `pass --status-url=http://<controller>:8080/status`,
    };
  }
}

function describeSource(status: ControllerStatus, from: string): string {
  const role = status.active ? "the active replica" : "a standby replica, which runs no probes";
  return `probe results from the controller's status endpoint (${from}): ${role} ${status.identity}`;
}

/** One Service's probe states out of the status document. */
export function healthReport(
  read: { status?: ControllerStatus; message: string },
  key: string,
): HealthReport {
  const [ns, name] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
  const svc = read.status?.services?.find((s) => s.namespace === ns && s.name === name);
  const states = new Map<string, ProbeState>();
  for (const p of svc?.probes ?? []) {
    states.set(p.podUID, {
      healthy: p.healthy ?? undefined,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      lastReason: p.reason,
      lastCheckedAt: p.lastCheckedAt ? Date.parse(p.lastCheckedAt) : undefined,
    });
  }
  return { reachable: read.status !== undefined, message: read.message, states };
}

/** What explain and status read from the cluster, once, for one namespace or all. */
export interface ClusterSnapshot {
  services: Service[];
  pods: Pod[];
  nodes?: Node[];
  managedServices: Service[];
  managedSlices: EndpointSlice[];
  controller: { status?: ControllerStatus; message: string };
  kernel: Awaited<ReturnType<typeof explainKernel>>;
  now: number;
  close(): Promise<void>;
}

export async function readSnapshot(o: ClusterSnapshotOptions, namespace?: string): Promise<ClusterSnapshot> {
  const c = o.client;
  const managed = { namespace, labelSelector: `${LABEL.managedBy}=zen-lead` };
  const [services, pods, nodes, managedServices, managedSlices, configMap] = await Promise.all([
    c.list<Service>(Services, { namespace }),
    c.list<Pod>(Pods, { namespace }),
    orUndefined(c.list<Node>(Nodes), isForbidden),
    c.list<Service>(Services, managed),
    c.list<EndpointSlice>(EndpointSlices, managed),
    orUndefined(c.get<ConfigMap>(ConfigMaps, o.configMap.namespace, o.configMap.name), isForbidden),
  ]);
  const kernel = await explainKernel(configMap, o.kernelParts);
  const controller = await readControllerStatus(c, o);
  return {
    services: services.items,
    pods: pods.items,
    nodes: nodes?.items,
    managedServices: managedServices.items,
    managedSlices: managedSlices.items,
    controller,
    kernel,
    now: (o.now ?? Date.now)(),
    close: () => kernel.kernel.close(),
  };
}

/** The controller's last good settings of a Service, when its status endpoint answered and it knows them. */
function lastGoodOf(snap: ClusterSnapshot, ns: string, name: string) {
  const reported = snap.controller.status?.services?.find((s) => s.namespace === ns && s.name === name)
    ?.settings;
  const ctx = settingsContextOf(snap.kernel.kernel, snap.kernel.defaults);
  return reported ? settingsFromReport(reported, ctx) : undefined;
}

/** The explain input of one Service of the snapshot. */
export function explainInputFor(snap: ClusterSnapshot, service: Service): ExplainInput {
  const ns = service.metadata.namespace ?? "";
  const name = service.metadata.name ?? "";
  const mine = <T extends Service | EndpointSlice>(list: T[]) =>
    list.filter((x) => x.metadata.namespace === ns && isManagedFor(x, name));
  return {
    service,
    pods: snap.pods.filter((p) => p.metadata.namespace === ns),
    nodes: snap.nodes,
    managedServices: mine(snap.managedServices),
    managedSlices: mine(snap.managedSlices),
    ctx: settingsContextOf(snap.kernel.kernel, snap.kernel.defaults),
    configDefaults: snap.kernel.defaults,
    configuration: snap.kernel.configuration,
    strategy: (n) => snap.kernel.kernel.strategy(n),
    health: healthReport(snap.controller, `${ns}/${name}`),
    lastGood: lastGoodOf(snap, ns, name),
    now: snap.now,
    warnings: snap.kernel.warnings,
  };
}
