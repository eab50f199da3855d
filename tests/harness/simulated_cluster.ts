/** A control plane with the kubelet simulator running and an admin client: what the e2e tests and the demo start. */
import { KubeClient } from "../../core/kube/client.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { type Cluster, type ClusterOptions, startCluster } from "./cluster.ts";
import { KubeletSimulator } from "./kubelet.ts";

export interface SimulatedCluster {
  cluster: Cluster;
  kubelet: KubeletSimulator;
  /** An admin client without a client-side rate limit. */
  client: KubeClient;
}

/** Starts the cluster, then the kubelet simulator, then the admin client (with `timeoutMs` when given). */
export async function startSimulatedCluster(
  opts: ClusterOptions = {},
  client: { timeoutMs?: number } = {},
): Promise<SimulatedCluster> {
  const cluster = await startCluster(opts);
  const kubelet = new KubeletSimulator(cluster.kubeConfig());
  await kubelet.start();
  return {
    cluster,
    kubelet,
    client: await KubeClient.fromKubeConfig(cluster.kubeConfig(), {
      metrics: new MetricsRegistry(),
      qps: 0,
      ...client,
    }),
  };
}
