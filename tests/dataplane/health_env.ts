/**
 * The health-check e2e on real pod IPs: each target is a server in its own pod namespace (a fresh slot), and
 * the controller of the lab probes it from its namespace, as in a cluster.
 */
import type { HealthEnv, HealthHttpTarget } from "../e2e/_health_env.ts";
import { startGrpcTarget } from "../e2e/_servers.ts";
import { startLab } from "./lab.ts";
import { startNsHttpTarget } from "./targets.ts";
import type { PodSlot } from "./topology.ts";

export async function startPodIpHealthEnv(): Promise<HealthEnv> {
  const lab = await startLab({ pods: 0 });
  const slots = new Map<HealthHttpTarget, PodSlot>();
  return {
    where: "real pod IPs in network namespaces",
    client: lab.client,
    kubelet: lab.kubelet,
    newNamespace: (prefix) => lab.cluster.newNamespace(prefix),
    async httpTarget() {
      const slot = await lab.topology.addSlot();
      const target = await startNsHttpTarget(slot);
      slots.set(target, slot);
      return target;
    },
    async grpcTarget(statuses) {
      const slot = await lab.topology.addSlot();
      return await startGrpcTarget(slot.ip, statuses, { netns: slot.ns });
    },
    metrics: () => lab.controllerMetrics(),
    async cutNetwork(target) {
      const slot = slots.get(target);
      if (!slot) throw new Error(`expected a target of this environment, found one at ${target.ip}`);
      await lab.topology.setLink(slot, false);
    },
    stop: () => lab.stop(),
  };
}
