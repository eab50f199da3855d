/**
 * Builds the backend: the ARM client on the Azure stack, the gateway operations and one engine per term of
 * leadership. Imported by the plugin's setup only when the plugin is enabled, so a controller that does not use
 * Azure never loads @azure/identity and @azure/core-rest-pipeline.
 */
import { type Clock, type PluginContext, type PodView, realClock } from "../../mod.ts";
import { ArmClient } from "./arm/client.ts";
import { credentialFrom } from "./arm/credential.ts";
import { ServiceGatewayOps } from "./arm/gateway_ops.ts";
import { type EgressPod, type EngineConfig, ServiceGatewayEngine } from "./engine/engine.ts";
import { type EngineMetrics, engineMetrics, throttleObserver } from "./engine/metrics.ts";
import { LeaderOnlyBackend } from "./leader_only.ts";
import type { AzureServiceGatewayOptions } from "./options.ts";

/** The ARM client the options describe (tests pass their own clock to count its timers). */
export function armClientOf(
  o: AzureServiceGatewayOptions,
  metrics: EngineMetrics,
  clock: Clock = realClock,
): ArmClient {
  return new ArmClient({
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
    clock,
  });
}

export function gatewayOpsOf(o: AzureServiceGatewayOptions, arm: ArmClient): ServiceGatewayOps {
  return new ServiceGatewayOps(arm, {
    subscriptionId: o.subscriptionId,
    resourceGroup: o.resourceGroup,
    serviceGatewayName: o.serviceGatewayName,
    virtualNetworkName: o.virtualNetworkName,
    location: o.location,
    createGateway: o.createGateway,
  });
}

export function engineConfigOf(o: AzureServiceGatewayOptions): Partial<EngineConfig> {
  return {
    servicePrefix: o.servicePrefix,
    maxInFlight: o.maxConcurrentOperations,
    backoff: { ...o.backoff },
    orphanGraceMs: o.timeouts.orphanGraceMs,
    operationTimeoutMs: o.timeouts.operationMs,
    locationsTimeoutMs: o.timeouts.locationsMs,
    drainTimeoutMs: o.timeouts.drainMs,
    reconcileIntervalMs: o.timeouts.reconcileMs,
    reconcileAfterFailureMs: o.timeouts.reconcileAfterFailureMs,
  };
}

export function createBackend(
  ctx: PluginContext<AzureServiceGatewayOptions>,
  egressPodOf: (pod: PodView, nodeIP: string | undefined, options: AzureServiceGatewayOptions) => EgressPod,
): LeaderOnlyBackend {
  const o = ctx.options;
  const metrics = engineMetrics(ctx.metrics);
  const api = gatewayOpsOf(o, armClientOf(o, metrics));
  const makeEngine = () =>
    new ServiceGatewayEngine({
      api,
      clock: realClock,
      logger: ctx.logger,
      metrics,
      config: engineConfigOf(o),
    });
  const backend = new LeaderOnlyBackend(
    makeEngine,
    (pod, nodeIP) => egressPodOf(pod, nodeIP, o),
    ctx.leadership,
    ctx.logger,
  );
  ctx.signal.addEventListener("abort", () => void backend.close(), { once: true });
  return backend;
}
