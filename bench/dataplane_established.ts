/**
 * Established connections through a failover. A long-lived TCP connection (a line every
 * 100 ms, a 3 s socket timeout like a database driver's) to the leader ClusterIP:
 * - per fault kind: which pod answers it after kube-proxy moved new connections, and when it first reaches
 *   the new leader (only once it is closed and reopened);
 * - the alternative of keeping the old endpoint `serving: false, terminating: true` next to the new leader:
 *   the bench writes both slice shapes itself for a selector-less Service and compares what an established
 *   connection and fresh connections see.
 */
import { EndpointSlices, Services } from "../core/kube/paths.ts";
import type { EndpointSlice, Service } from "../core/kube/types.ts";
import type { Cast } from "../tests/dataplane/cast.ts";
import type { ClientLog } from "../tests/dataplane/client_log.ts";
import { type FaultKind, injectFault, now } from "../tests/dataplane/failover.ts";
import { type Lab, type LabPod, SERVICE_PORTS, until } from "../tests/dataplane/lab.ts";
import { sleep } from "../core/time/sleep.ts";

const OBSERVE_MS = 6_000;

export interface EstablishedKind {
  kind: FaultKind;
  /** Answers on connections opened before the fault, from the old leader, after the leader slice moved. */
  old_leader_answers_after_slice_moved: number;
  /** How long after the fault the connection opened before it still answered from the old leader. */
  old_connection_alive_ms: number | null;
  /** From the fault to the first answer from the new leader on the long-lived client (after a reconnect). */
  first_new_leader_answer_ms: number | null;
  reconnects: number;
}

async function waitAnswering(client: ClientLog, pod: string): Promise<void> {
  await until(`the long-lived client to be answered by ${pod}`, 15_000, async () => {
    const fresh = await client.poll();
    return fresh.some((r) => r.pod === pod) || undefined;
  });
}

/** One fault with a long-lived connection open to the leader. */
async function establishedThrough(lab: Lab, cast: Cast, clusterIP: string, kind: FaultKind) {
  const leader = await cast.leader();
  const client = lab.startClient("long", clusterIP, 9000, 100, 3000);
  await waitAnswering(client, leader.name);
  const faultAt = now();
  const repair = await injectFault(lab, kind, leader);
  const newLeader = await until("the slice to move", 15_000, async () => {
    const l = await cast.leader().catch(() => undefined);
    return l && l.name !== leader.name ? l : undefined;
  });
  const movedAt = now();
  await sleep(OBSERVE_MS);
  await client.poll();
  await client.stop();
  const after = client.records.filter((r) => r.e >= faultAt);
  const firstConn = client.records.find((r) => r.pod === leader.name)?.conn;
  const oldAfter = after.filter((r) => r.pod === leader.name && r.conn === firstConn);
  const firstNew = after.find((r) => r.pod === newLeader.name);
  const result: EstablishedKind = {
    kind,
    old_leader_answers_after_slice_moved: oldAfter.filter((r) => r.e > movedAt).length,
    old_connection_alive_ms: oldAfter.length ? Math.round(oldAfter[oldAfter.length - 1].e - faultAt) : null,
    first_new_leader_answer_ms: firstNew ? Math.round(firstNew.e - faultAt) : null,
    reconnects: new Set(after.map((r) => r.conn)).size - 1,
  };
  await repair();
  if (kind === "deletion") await cast.replace(leader);
  if (kind === "killed" || kind === "vethDown") await sleep(1500);
  return result;
}

/** What a client sees when the leader slice changes from [a] to `endpoints`, written by the bench itself. */
async function sliceShape(
  lab: Lab,
  a: LabPod,
  b: LabPod,
  shape: "replaced" | "terminatingKept",
): Promise<Record<string, number | string>> {
  const name = `manual-${shape.toLowerCase()}`;
  const svc = await lab.client.create<Service>(Services, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: lab.ns },
    spec: { ports: SERVICE_PORTS.map((p) => ({ ...p, targetPort: p.name === "http" ? 8080 : 9000 })) },
  } as Service);
  const endpoint = (pod: LabPod, state: { ready: boolean; serving: boolean; terminating: boolean }) => ({
    addresses: [pod.slot.ip],
    conditions: state,
    targetRef: { kind: "Pod", namespace: lab.ns, name: pod.name },
  });
  const slice = (endpoints: unknown[]): EndpointSlice => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: lab.ns, labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    endpoints,
    ports: [{ name: "http", port: 8080, protocol: "TCP" }, { name: "tcp", port: 9000, protocol: "TCP" }],
  } as EndpointSlice);
  const ready = { ready: true, serving: true, terminating: false };
  const created = await lab.client.create<EndpointSlice>(EndpointSlices, slice([endpoint(a, ready)]));
  const ip = svc.spec!.clusterIP!;
  const long = lab.startClient("long", ip, 9000, 100, 3000);
  const fresh = lab.startClient("fresh", ip, 80, 10, 1000);
  await waitAnswering(long, a.name);
  await waitAnswering(fresh, a.name);
  const endpoints = shape === "replaced"
    ? [endpoint(b, ready)]
    : [endpoint(b, ready), endpoint(a, { ready: false, serving: false, terminating: true })];
  const changedAt = now();
  await lab.client.replace<EndpointSlice>(EndpointSlices, {
    ...slice(endpoints),
    metadata: created.metadata,
  });
  await sleep(OBSERVE_MS);
  await long.poll();
  await fresh.poll();
  await long.stop();
  await fresh.stop();
  const settled = changedAt + 1000; // kube-proxy has synced well within a second here
  const longAfter = long.records.filter((r) => r.s > settled);
  const freshAfter = fresh.records.filter((r) => r.s > settled);
  await lab.client.delete(Services, lab.ns, name).catch(() => {});
  await lab.client.delete(EndpointSlices, lab.ns, name).catch(() => {});
  return {
    shape,
    established_answers_from_old: longAfter.filter((r) => r.pod === a.name).length,
    established_answers_from_new: longAfter.filter((r) => r.pod === b.name).length,
    established_errors: longAfter.filter((r) => r.err).length,
    fresh_answers_from_old: freshAfter.filter((r) => r.pod === a.name).length,
    fresh_answers_from_new: freshAfter.filter((r) => r.pod === b.name).length,
    fresh_errors: freshAfter.filter((r) => r.err).length,
  };
}

export async function measureEstablished(lab: Lab, cast: Cast, clusterIP: string, log: (l: string) => void) {
  const kinds: EstablishedKind[] = [];
  for (const kind of ["readiness", "deletion", "killed", "vethDown"] as const) {
    const r = await establishedThrough(lab, cast, clusterIP, kind);
    log(`established, ${kind}: ${JSON.stringify(r)}`);
    kinds.push(r);
  }
  const [a, b] = [...cast.pods.values()];
  const shapes = [];
  for (const shape of ["replaced", "terminatingKept"] as const) {
    const r = await sliceShape(lab, a, b, shape);
    log(`slice shape ${shape}: ${JSON.stringify(r)}`);
    shapes.push(r);
  }
  return { observe_ms: OBSERVE_MS, kinds, slice_shapes: shapes };
}
