/**
 * The `azure-servicegateway` cloud backend: routes an opted-in Service's traffic (annotation
 * `zen-lead.io/backend: azure-servicegateway`) from an Azure Service Gateway straight to its leader pod, and
 * reports the public frontend IP for the Service's status.loadBalancer.ingress.
 *
 * @example Wiring in the controller
 * ```ts ignore
 * const engine = instance as AzureServiceGatewayBackend;
 * engine.onStatus((key, status) => writeLoadBalancerStatus(key, status));
 * const snapshots = engine.debug(); // served by the controller at /debug/difftracker/{services,buffered}
 * ```
 * @module
 */
import { defineBackend, type PodView } from "../../mod.ts";
import type { EgressPod } from "./engine/engine.ts";
import { type AzureServiceGatewayOptions, optionsSchema } from "./options.ts";
import { LeaderOnlyBackend } from "./leader_only.ts";

export { type EgressPod, ServiceGatewayEngine } from "./engine/engine.ts";
export type { AzureServiceGatewayOptions } from "./options.ts";

/** The instance the plugin's setup returns: one engine per term of leadership behind the CloudBackend API. */
export type AzureServiceGatewayBackend = LeaderOnlyBackend;
export { LeaderOnlyBackend };

/** The egress a pod asks for through the configured label, as the engine's pod hooks take it. */
export function egressPodOf(
  pod: PodView,
  nodeIP: string | undefined,
  options: AzureServiceGatewayOptions,
): EgressPod {
  const egress = options.egress.enabled ? pod.labels[options.egress.podLabel] : undefined;
  return { uid: pod.uid, ip: pod.ip || undefined, nodeIP, egress: egress || undefined };
}

export default defineBackend({
  name: "azure-servicegateway",
  version: "0.1.0",
  description: "Azure Service Gateway: public frontend IP routed straight to the leader pod, and pod egress",
  options: optionsSchema,
  async setup(ctx) {
    const { createBackend } = await import("./create.ts");
    return createBackend(ctx, egressPodOf);
  },
  close: (backend) => backend.close(),
});
