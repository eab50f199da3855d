/**
 * The `azure-servicegateway` cloud backend: routes an opted-in Service's traffic (annotation
 * `zen-lead.io/backend: azure-servicegateway`) from an Azure Service Gateway straight to its leader pod, and
 * reports the public frontend IP for the Service's status.loadBalancer.ingress.
 *
 * @example Wiring in the controller
 * ```ts ignore
 * const engine = instance as AzureServiceGatewayBackend;
 * engine.onStatus((key, status) => writeLoadBalancerStatus(key, status));
 * app.route("/debug/difftracker", difftrackerDebugApp(engine));
 * ```
 * @module
 */
import { defineBackend } from "../../mod.ts";
import type { PodView } from "../../core/plugin/types.ts";
import { ArmClient } from "./arm/client.ts";
import { credentialFrom } from "./arm/credential.ts";
import { ServiceGatewayOps } from "./arm/gateway_ops.ts";
import { systemClock } from "./engine/clock.ts";
import { type EgressPod, ServiceGatewayEngine } from "./engine/engine.ts";
import { engineMetrics, throttleObserver } from "./engine/metrics.ts";
import { type AzureServiceGatewayOptions, optionsSchema } from "./options.ts";
import { LeaderOnlyBackend } from "./leader_only.ts";

export { difftrackerDebugApp } from "./debug.ts";
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

export default defineBackend<AzureServiceGatewayOptions>({
  name: "azure-servicegateway",
  version: "0.1.0",
  description: "Azure Service Gateway: public frontend IP routed straight to the leader pod, and pod egress",
  options: optionsSchema,
  setup(ctx) {
    const o = ctx.options;
    const metrics = engineMetrics(ctx.metrics);
    const arm = new ArmClient({
      endpoint: o.armEndpoint,
      apiVersion: o.apiVersion,
      credential: credentialFrom(o.credential),
      requestTimeoutMs: o.timeouts.requestMs,
      lroTimeoutMs: o.timeouts.lroMs,
      pollIntervalMs: o.timeouts.pollIntervalMs,
      maxRetries: o.retry.maxRetries,
      retryDelayMs: o.retry.retryDelayMs,
      maxRetryDelayMs: o.retry.maxRetryDelayMs,
      maxThrottleWaitMs: o.retry.maxThrottleWaitMs,
      throttleAttempts: o.retry.throttleAttempts,
      observer: throttleObserver(metrics),
    });
    const api = new ServiceGatewayOps(arm, {
      subscriptionId: o.subscriptionId,
      resourceGroup: o.resourceGroup,
      serviceGatewayName: o.serviceGatewayName,
      virtualNetworkName: o.virtualNetworkName,
      location: o.location,
      createGateway: o.createGateway,
    });
    const makeEngine = () =>
      new ServiceGatewayEngine({
        api,
        clock: systemClock,
        logger: ctx.logger,
        metrics,
        config: {
          servicePrefix: o.servicePrefix,
          maxInFlight: o.maxConcurrentOperations,
          backoff: { ...o.backoff },
          orphanGraceMs: o.timeouts.orphanGraceMs,
          operationTimeoutMs: o.timeouts.operationMs,
          locationsTimeoutMs: o.timeouts.locationsMs,
          drainTimeoutMs: o.timeouts.drainMs,
        },
      });
    const backend = new LeaderOnlyBackend(
      makeEngine,
      (pod, nodeIP) => egressPodOf(pod, nodeIP, o),
      ctx.leadership,
      ctx.logger,
    );
    ctx.signal.addEventListener("abort", () => void backend.close(), { once: true });
    return backend;
  },
  // The kernel types the instance as CloudBackend; setup above always returns a LeaderOnlyBackend.
  close: (backend) => (backend as LeaderOnlyBackend).close(),
});
