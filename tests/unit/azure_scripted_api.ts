/** A scripted GatewayApi and a manual clock for the engine's unit tests: writes wait until a test settles them. */
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import type {
  GatewayApi,
  OwnedResources,
  ServiceSpec,
} from "../../plugins/azure-servicegateway/arm/gateway_api.ts";
import type {
  AddressLocation,
  AddressLocationsRequest,
  GatewayService,
} from "../../plugins/azure-servicegateway/arm/shapes.ts";
import { ManualClock } from "../_clock.ts";
import { type EngineConfig, ServiceGatewayEngine } from "../../plugins/azure-servicegateway/engine/engine.ts";
import { engineMetrics } from "../../plugins/azure-servicegateway/engine/metrics.ts";
import type { BackendServiceState, BackendStatus } from "../../core/plugin/types.ts";

export interface Call {
  method: "ensureService" | "deleteService" | "updateAddressLocations";
  arg: unknown;
  done: boolean;
  resolve(v?: unknown): void;
  reject(e: unknown): void;
}

/** A GatewayApi whose writes wait until the test settles them. */
export class ScriptedApi implements GatewayApi {
  calls: Call[] = [];
  services: GatewayService[] = [];
  listing: AddressLocation[] = [];
  private ips = 0;

  /** Start failures still to come, and when each start attempt came (clock time). */
  failStarts = 0;
  startAttempts: number[] = [];
  now: () => number = () => 0;
  ensureGateway(): Promise<void> {
    this.startAttempts.push(this.now());
    if (this.failStarts-- > 0) return Promise.reject(new Error("ARM unreachable (scripted)"));
    return Promise.resolve();
  }
  listServices(): Promise<GatewayService[]> {
    return Promise.resolve(this.services);
  }
  listAddressLocations(_signal?: AbortSignal): Promise<AddressLocation[]> {
    return Promise.resolve(this.listing);
  }
  leftovers: OwnedResources[] = [];
  listOwnedResources(_signal?: AbortSignal) {
    return Promise.resolve(this.leftovers);
  }
  private pending<T>(method: Call["method"], arg: unknown, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: Call = {
        method,
        arg,
        done: false,
        resolve: (v) => {
          call.done = true;
          resolve(v as T);
        },
        reject: (e) => {
          call.done = true;
          reject(e);
        },
      };
      signal.addEventListener("abort", () => call.reject(signal.reason), { once: true });
      this.calls.push(call);
    });
  }
  ensureService(spec: ServiceSpec, signal: AbortSignal) {
    return this.pending<{ frontendIP?: string }>("ensureService", spec, signal);
  }
  deleteService(name: string, _kind: string, signal: AbortSignal) {
    return this.pending<void>("deleteService", name, signal);
  }
  updateAddressLocations(request: AddressLocationsRequest, signal: AbortSignal) {
    return this.pending<void>("updateAddressLocations", request, signal);
  }
  open(method?: Call["method"]): Call[] {
    return this.calls.filter((c) => !c.done && (!method || c.method === method));
  }
  nextIP(): string {
    return `20.0.0.${++this.ips}`;
  }
}

/** Where the engine tests' manual clock starts: a real epoch, so ISO timestamps in statuses look like dates. */
const AZURE_TEST_EPOCH = 1_700_000_000_000;

export const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

export function setup(api = new ScriptedApi(), config: Partial<EngineConfig> = {}) {
  const clock = new ManualClock(AZURE_TEST_EPOCH);
  api.now = () => clock.now();
  const registry = new MetricsRegistry();
  const statuses: [string, BackendStatus][] = [];
  const engine = new ServiceGatewayEngine({
    api,
    clock,
    logger: new RootLogger("error", () => {}),
    metrics: engineMetrics(registry),
    random: () => 0.5,
    // The scripted API models no gateway to list: reconciliation has its own tests (azure_reconcile_test.ts).
    config: {
      orphanGraceMs: 60_000,
      drainTimeoutMs: 5_000,
      reconcileIntervalMs: 0,
      reconcileAfterFailureMs: 86_400_000,
      ...config,
    },
  });
  engine.onStatus((k, s) => statuses.push([k, s]));
  return { api, clock, registry, engine, statuses };
}

export function svc(uid: string, leaders: [string, string][]): BackendServiceState {
  return {
    key: `default/${uid}`,
    uid,
    ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
    leaders: leaders.map(([podIP, nodeIP], i) => ({
      podName: `p${i}`,
      podUID: `pu-${podIP}`,
      podIP,
      nodeIP,
    })),
  };
}

/** Settles every open call successfully (ensureService with a fresh IP) until none is left. */
export async function settleAll(api: ScriptedApi, rounds = 20) {
  for (let i = 0; i < rounds; i++) {
    await flush();
    const open = api.open();
    if (open.length === 0) return;
    for (const c of open) c.resolve(c.method === "ensureService" ? { frontendIP: api.nextIP() } : undefined);
  }
}

export function services(engine: ServiceGatewayEngine) {
  return engine.debugServices().services as { name: string; state: string; attempts: number }[];
}

/** setup() with the engine started and `service` applied and settled: where a fault test begins. */
export async function settledWith(service: BackendServiceState) {
  const t = setup();
  await t.engine.start();
  t.engine.apply(service);
  await settleAll(t.api);
  return t;
}
