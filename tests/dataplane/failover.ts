/**
 * One measured failover through the real data plane: a fault on the leader pod, then what the client saw.
 * Times are epoch milliseconds. Shares: the controller's (fault -> the leader slice changed, as a watch saw
 * it), kube-proxy's (slice change -> rules programmed, from kubeproxy_network_programming_duration_seconds
 * counted from the slice's last-change-trigger-time), and the rest (the client's next request and answer).
 */
import { EndpointSlices } from "../../core/kube/paths.ts";
import type { EndpointSlice } from "../../core/kube/types.ts";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { watchUntil } from "../harness/watch.ts";
import type { ClientLog, ClientRecord } from "./client_log.ts";
import type { Lab, LabPod } from "./lab.ts";

export const FAULT_KINDS = ["readiness", "deletion", "killed", "vethDown"] as const;
export type FaultKind = typeof FAULT_KINDS[number];

export const LEADER = "web-leader";
const TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";

export interface FailoverSample {
  kind: FaultKind;
  from: string;
  to: string;
  faultAt: number;
  /** When a watch saw the leader slice route to `to`. */
  sliceAt: number;
  /** The slice's last-change-trigger-time (when the controller observed the cause). */
  triggerAt: number;
  /** triggerAt + kube-proxy's network programming duration for this change. */
  programmedAt?: number;
  /** End of the first successful answer from `to` that started after the fault. */
  firstNewAt: number;
  /** firstNewAt - faultAt */
  totalMs: number;
  controllerMs: number;
  kubeProxyMs?: number;
  /** Answers from a pod other than `to` to requests started after kube-proxy programmed the change. */
  nonLeaderAfterSync: number;
  /** Requests started after the fault that failed (until the window ends). */
  failed: number;
  /** Requests started after the fault that a non-leader answered before the sync (the old leader, mostly). */
  oldLeaderAnswers: number;
}

export const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pod the leader slice routes to now. */
export async function currentLeader(lab: Lab): Promise<string | undefined> {
  const slice = await lab.client.get<EndpointSlice>(EndpointSlices, lab.ns, LEADER).catch(() => undefined);
  return slice?.endpoints?.[0]?.targetRef?.name;
}

/** The fault of `kind` on `pod`. Returns the repair, run after the measurement. */
export async function injectFault(lab: Lab, kind: FaultKind, pod: LabPod): Promise<() => Promise<void>> {
  switch (kind) {
    case "readiness":
      await lab.kubelet.setPodReady(lab.ns, pod.name, false);
      return async () => void await lab.kubelet.setPodReady(lab.ns, pod.name, true);
    case "deletion": {
      // The DELETE sets deletionTimestamp; after the 1 s grace period the container stops (SIGTERM) and the
      // simulated kubelet removes the pod, as a kubelet would.
      const gone = lab.kubelet.deletePodGracefully(lab.ns, pod.name, { graceSeconds: 1 })
        .finally(() => lab.procs.stop(pod.server).catch(() => {}));
      gone.catch(() => {}); // awaited by the repair
      await sleep(0);
      return async () => void await gone;
    }
    case "killed":
      await lab.killServer(pod);
      return () => lab.restartServer(pod);
    case "vethDown":
      await lab.topology.setLink(pod.slot, false);
      return () => lab.topology.setLink(pod.slot, true);
  }
}

/**
 * Faults the current leader `pod` and measures until the client has answered from the new leader for
 * `settleMs` after kube-proxy's sync. Returns the sample and the repair for the fault.
 */
export async function measureFailover(
  lab: Lab,
  client: ClientLog,
  kind: FaultKind,
  pod: LabPod,
  opts: { settleMs?: number; timeoutMs?: number } = {},
): Promise<{ sample: FailoverSample; repair: () => Promise<void> }> {
  const settleMs = opts.settleMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const before = await lab.kubeProxy.programming();
  let watching = false;
  let sliceAt = 0;
  let moved: V1EndpointSlice | undefined;
  const sliceMoved = watchUntil<V1EndpointSlice>(
    lab.cluster.kubeConfig(),
    `/apis/discovery.k8s.io/v1/namespaces/${lab.ns}/endpointslices`,
    (objects) => {
      watching = true;
      const slice = objects.get(`${lab.ns}/${LEADER}`);
      const to = slice?.endpoints?.[0]?.targetRef?.name;
      if (!to || to === pod.name) return false;
      sliceAt = now();
      moved = slice;
      return true;
    },
    { timeoutMs, what: `${lab.ns}/${LEADER} to route away from ${pod.name} after ${kind}` },
  );
  while (!watching) await sleep(5);
  await client.poll();
  const seen = client.records.length;
  const faultAt = now();
  const repair = await injectFault(lab, kind, pod);
  await sliceMoved;
  const to = moved!.endpoints![0].targetRef!.name!;
  const triggerAt = Date.parse(moved!.metadata?.annotations?.[TRIGGER_TIME] ?? "") || sliceAt;

  // Programming is observed once kube-proxy synced; the client then needs one more request.
  let programmedAt: number | undefined;
  let firstNewAt: number | undefined;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(20);
    await client.poll();
    if (programmedAt === undefined) {
      const after = await lab.kubeProxy.programming();
      if (after.count > before.count) {
        programmedAt = triggerAt + ((after.sum - before.sum) / (after.count - before.count)) * 1000;
      }
    }
    firstNewAt ??= client.records.slice(seen).find((r) => r.pod === to && r.s >= faultAt)?.e;
    if (firstNewAt !== undefined && now() > Math.max(firstNewAt, programmedAt ?? 0) + settleMs) break;
  }
  if (firstNewAt === undefined) {
    throw new Error(
      `expected the client to reach the new leader ${to} after ${kind} of ${pod.name}, found none`,
    );
  }
  const window = client.records.slice(seen).filter((r) => r.s >= faultAt);
  const syncedAt = programmedAt ?? firstNewAt;
  const sample: FailoverSample = {
    kind,
    from: pod.name,
    to,
    faultAt,
    sliceAt,
    triggerAt,
    programmedAt,
    firstNewAt,
    totalMs: firstNewAt - faultAt,
    controllerMs: sliceAt - faultAt,
    kubeProxyMs: programmedAt === undefined ? undefined : programmedAt - sliceAt,
    nonLeaderAfterSync: window.filter((r) => r.pod && r.pod !== to && r.s > syncedAt).length,
    failed: window.filter((r) => r.err).length,
    oldLeaderAnswers: window.filter((r: ClientRecord) => r.pod && r.pod !== to && r.s <= syncedAt).length,
  };
  return { sample, repair };
}
