/** Shared setup for the azure-servicegateway integration tests: the plugin wired to an in-process emulator. */
import * as v from "valibot";
import { ALWAYS_ACTIVE } from "../../core/plugin/replica_activity.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import type { BackendStatus } from "../../core/plugin/types.ts";
import plugin, {
  type AzureServiceGatewayBackend,
  type ServiceGatewayEngine,
} from "../../plugins/azure-servicegateway/mod.ts";
import { optionsSchema } from "../../plugins/azure-servicegateway/options.ts";
import type { ArmEmulator } from "../emulators/arm/emulator.ts";

export const TOKEN = "emulator-token";
export const API_VERSION = "2025-05-01";

export interface Backend {
  /** The engine of the plugin's current (always active) term. */
  engine: ServiceGatewayEngine;
  registry: MetricsRegistry;
  statuses: Map<string, BackendStatus>;
  close(): Promise<void>;
}

/** The options naming the emulated gateway at `armEndpoint` and the emulator's token. */
export function gatewayAt(armEndpoint: string) {
  return {
    subscriptionId: "sub",
    resourceGroup: "rg",
    serviceGatewayName: "sgw",
    virtualNetworkName: "vnet",
    location: "westeurope",
    apiVersion: API_VERSION,
    armEndpoint,
    credential: { type: "staticToken", token: TOKEN },
  };
}

/** startBackend's timeouts: test-sized for the real HTTP stack against the emulator. */
export const TEST_TIMEOUTS = {
  requestMs: 400,
  lroMs: 3_000,
  pollIntervalMs: 1,
  operationMs: 5_000,
  locationsMs: 5_000,
  drainMs: 200,
  orphanGraceMs: 60_000,
};

/** The plugin exactly as the kernel would set it up, with test-sized timeouts and backoffs. */
export async function startBackend(
  emulator: ArmEmulator,
  overrides: Record<string, unknown> = {},
): Promise<Backend> {
  const options = v.parse(optionsSchema, {
    ...gatewayAt(emulator.url),
    timeouts: TEST_TIMEOUTS,
    retry: {
      maxRetries: 1,
      retryDelayMs: 1,
      maxRetryDelayMs: 5,
      maxThrottleWaitMs: 3_000,
      throttleAttempts: 3,
    },
    backoff: { baseMs: 5, maxMs: 40, jitter: 0.2, parkAfterAttempts: 12, parkMs: 200 },
    ...overrides,
  });
  const registry = new MetricsRegistry();
  const abort = new AbortController();
  const backend = await plugin.setup({
    name: "azure-servicegateway",
    options,
    logger: new RootLogger("error", () => {}),
    metrics: registry,
    signal: abort.signal,
    leadership: ALWAYS_ACTIVE,
    dependency: () => {
      throw new Error("azure-servicegateway has no dependencies");
    },
  }) as AzureServiceGatewayBackend;
  // Always active: the plugin runs its engine at once (one engine per term of leadership).
  const engine = backend.current!;
  const statuses = new Map<string, BackendStatus>();
  engine.onStatus((key, status) => statuses.set(key, status));
  await engine.start();
  return {
    engine,
    registry,
    statuses,
    close: async () => {
      await plugin.close!(backend);
      abort.abort();
    },
  };
}

/** Polls `check` until it returns true or the deadline passes; returns whether it converged. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}
