/**
 * Where the health-check e2e runs. On real pod IPs (tests/dataplane/health_env.ts: servers in pod network
 * namespaces, the controller probing from its own) where this machine allows it, else on this machine's
 * address (servers in this process or a child, the controller in process). One suite, two environments.
 */
import type { KubeClient } from "../../core/kube/client.ts";
import type { ZenLeadHandle } from "../../app/start.ts";
import type { KubeletSimulator } from "../harness/kubelet.ts";
import { startE2E } from "./_env.ts";
import { scrape } from "./_metrics.ts";
import { type GrpcTarget, type HttpMode, podAddress, startGrpcTarget, startHttpTarget } from "./_servers.ts";

/** An HTTP health target as the suite drives it, wherever it runs. */
export interface HealthHttpTarget {
  readonly ip: string;
  readonly port: number;
  /** Epoch ms of every request received. */
  readonly hits: number[];
  setMode(mode: HttpMode): Promise<void>;
  /** Stops listening: connections are refused until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export interface HealthEnv {
  /** Printed with the results: where the pods' servers run. */
  readonly where: string;
  readonly client: KubeClient;
  readonly kubelet: KubeletSimulator;
  newNamespace(prefix: string): Promise<string>;
  httpTarget(): Promise<HealthHttpTarget>;
  grpcTarget(statuses: Record<string, number | "hang">): Promise<GrpcTarget>;
  /** The controller's /metrics text. */
  metrics(): Promise<string>;
  /** An in-process controller's probe state of a pod (undefined: not probed); absent for a child process. */
  probeState?: (serviceKey: string, podUid: string) => { healthy?: boolean } | undefined;
  /** Takes the target's pod network away (its veth down); only on real pod IPs. */
  cutNetwork?: (target: HealthHttpTarget) => Promise<void>;
  stop(): Promise<void>;
}

/** The control plane of _env.ts, the controller in this process, targets on this machine's address. */
export async function startHostHealthEnv(): Promise<HealthEnv> {
  const env = await startE2E();
  let h: ZenLeadHandle;
  try {
    h = await env.startController();
    await h.activated;
    if (!h.controller.synced()) throw new Error("expected the controller's caches synced once leading");
  } catch (err) {
    await env.stop();
    throw err;
  }
  return {
    where: "this machine's address",
    client: env.client,
    kubelet: env.kubelet,
    newNamespace: (prefix) => env.cluster.newNamespace(prefix),
    httpTarget() {
      const t = startHttpTarget(podAddress());
      return Promise.resolve({
        ip: t.ip,
        port: t.port,
        hits: t.hits,
        setMode(mode) {
          t.mode = mode;
          return Promise.resolve();
        },
        down: () => t.down(),
        up() {
          t.up();
          return Promise.resolve();
        },
        close: () => t.close(),
      });
    },
    grpcTarget: (statuses) => startGrpcTarget(podAddress(), statuses),
    metrics: () => scrape(h.metricsPort),
    probeState: (key, uid) => h.controller.probes.state(key, uid),
    stop: () => env.stop(),
  };
}
