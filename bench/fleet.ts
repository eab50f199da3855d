/**
 * The benchmark's fleet: opted-in Services spread over namespaces, each selecting its own pods, created through
 * the API like a user and a kubelet would. Planning is pure; creation and deletion are the I/O around it.
 */
import type { KubeClient } from "../core/kube/client.ts";
import { isAlreadyExists, isNotFound } from "../core/kube/errors.ts";
import { Namespaces, Services } from "../core/kube/paths.ts";
import type { KubeObject, Service } from "../core/kube/types.ts";
import type { KubeletSimulator, PodOptions } from "../tests/harness/kubelet.ts";
import { runBounded } from "../tests/harness/pool.ts";

/** Every bench pod carries this label (value: the run id), so the bench's own pod watch sees only its pods. */
export const BENCH_LABEL = "zen-lead.io/bench";
export const APP_LABEL = "app";
export const HTTP_PORTS = [{ name: "http", containerPort: 8080 }];

export interface FleetService {
  namespace: string;
  name: string;
  /** namespace/name, the controller's work-queue key. */
  key: string;
  /** The leader Service and EndpointSlice name zen-lead derives (`<svc>-leader`). */
  leaderName: string;
}

export interface Fleet {
  runId: string;
  namespaces: string[];
  services: FleetService[];
  /** Holds the one pod of the floor measurement; no opted-in Service selects it. */
  floorNamespace: string;
  podsPerService: number;
}

/** Names everything of one run: `zlb-<run>-<n>` namespaces of `perNamespace` Services named `svc-<i>`. */
export function planFleet(
  runId: string,
  services: number,
  perNamespace: number,
  podsPerService: number,
): Fleet {
  const namespaces: string[] = [];
  const list: FleetService[] = [];
  for (let i = 0; i < services; i++) {
    const nsIndex = Math.floor(i / perNamespace);
    const namespace = `zlb-${runId}-${nsIndex}`;
    if (namespaces.length === nsIndex) namespaces.push(namespace);
    const name = `svc-${i}`;
    list.push({ namespace, name, key: `${namespace}/${name}`, leaderName: `${name}-leader` });
  }
  return { runId, namespaces, services: list, floorNamespace: `zlb-${runId}-floor`, podsPerService };
}

/** The pod of Service `svc` number `j`, or a replacement with a generated name when `j` is undefined. */
export function podOptions(fleet: Fleet, svc: FleetService, j?: number): PodOptions {
  return {
    ...(j === undefined ? { generateName: `${svc.name}-` } : { name: `${svc.name}-${j}` }),
    labels: { [APP_LABEL]: svc.name, [BENCH_LABEL]: fleet.runId },
    ports: HTTP_PORTS,
    // The simulator finishes deletions after its container "exits" (1 s), whatever the grace period.
    terminationGracePeriodSeconds: 30,
  };
}

export function sourceService(svc: FleetService): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: svc.name,
      namespace: svc.namespace,
      annotations: { "zen-lead.io/enabled": "true" },
    },
    spec: {
      selector: { [APP_LABEL]: svc.name },
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

export type Progress = (line: string) => void;

async function createNamespace(client: KubeClient, name: string, runId: string): Promise<void> {
  try {
    await client.create<KubeObject>(Namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { [BENCH_LABEL]: runId } },
    });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/**
 * Creates namespaces, pods (Running and Ready, `concurrency` in flight) and then the opted-in Services, printing
 * progress per namespace. Pods come first so that each Service has all its candidates when zen-lead sees it.
 */
export async function createFleet(
  client: KubeClient,
  kubelet: KubeletSimulator,
  fleet: Fleet,
  concurrency: number,
  progress: Progress,
): Promise<void> {
  const started = performance.now();
  for (const ns of [...fleet.namespaces, fleet.floorNamespace]) {
    await createNamespace(client, ns, fleet.runId);
  }
  await kubelet.createPod(fleet.floorNamespace, { name: "floor", labels: { [BENCH_LABEL]: "floor" } });
  let pods = 0;
  const total = fleet.services.length * fleet.podsPerService;
  for (const ns of fleet.namespaces) {
    const services = fleet.services.filter((s) => s.namespace === ns);
    const n = services.length * fleet.podsPerService;
    await kubelet.createPods(
      ns,
      n,
      (i) => podOptions(fleet, services[Math.floor(i / fleet.podsPerService)], i % fleet.podsPerService),
      { concurrency },
    );
    pods += n;
    const s = (performance.now() - started) / 1000;
    progress(`pods ${pods}/${total} (${(pods / s).toFixed(0)}/s)`);
  }
  await runBounded(fleet.services.length, concurrency, (i) => createService(client, fleet.services[i]));
  progress(
    `${fleet.services.length} opted-in Services created in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
}

async function createService(client: KubeClient, svc: FleetService): Promise<void> {
  try {
    await client.create<Service>(Services, sourceService(svc));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/** Deletes the run's namespaces (the API server removes their contents in the background). */
export async function deleteFleet(client: KubeClient, fleet: Fleet): Promise<void> {
  for (const ns of [...fleet.namespaces, fleet.floorNamespace]) {
    try {
      await client.delete(Namespaces, "", ns);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
