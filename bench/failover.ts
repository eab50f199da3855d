/**
 * Failover sampling: for sampled Services, take the routed leader away (readiness flipped to false, or the pod
 * deleted) and time from the acknowledged write to the slice change on the bench's own watch. One failover at a
 * time, each followed by a floor sample, so both see the same API server in the same state.
 */
import type { KubeletSimulator } from "../tests/harness/kubelet.ts";
import type { ControllerProcess, Sample } from "./controller_process.ts";
import { apiWritesByOperation, sumOf } from "./controller_process.ts";
import { type Fleet, type FleetService, podOptions, type Progress } from "./fleet.ts";
import { type FleetWatch, isEligible, type RoutedLeader } from "./fleet_watch.ts";
import type { FloorProbe, FloorSample } from "./floor.ts";
import { sleep } from "../core/time/sleep.ts";

export type FailoverKind = "readiness" | "deletion";

export interface FailoverSample {
  kind: FailoverKind;
  service: string;
  from: string;
  to: string;
  /** Acknowledged write to slice change seen on the independent watch. */
  latencyMs: number;
}

export interface FailoverPhase {
  kind: FailoverKind;
  samples: FailoverSample[];
  /** Failovers that did not complete, or completed to a wrong pod, with the reason. */
  failures: string[];
  /** Pod status patch round trips, one after each failover. */
  floor: FloorSample[];
  /** EndpointSlice replace round trips, one after each failover. */
  sliceFloor: FloorSample[];
  /** Controller API writes during the phase, by operation (events included). */
  writesByOperation: Record<string, number>;
  /** Writes of leader Services and EndpointSlices only (zen_lead_api_writes_total). */
  managedWrites: number;
  /** Failovers the controller counted (zen_lead_failover_count_total). */
  controllerFailovers: number;
  /** The controller's own view: observed cause to acknowledged slice write (mean, ms). */
  controllerLatencyMeanMs: number;
}

export interface FailoverContext {
  fleet: Fleet;
  watch: FleetWatch;
  kubelet: KubeletSimulator;
  floor: FloorProbe;
  sliceFloor: FloorProbe;
  controller: ControllerProcess;
  timeoutMs: number;
  /** Least time between the starts of two failovers (the controller's qps budget is shared with Events). */
  paceMs: number;
  progress: Progress;
}

/** `count` Services spread evenly over the fleet, round-robin when there are fewer Services than samples. */
export function sampleServices(services: readonly FleetService[], count: number): FleetService[] {
  const n = services.length;
  return Array.from(
    { length: count },
    (_, i) => count <= n ? services[Math.floor((i * n) / count)] : services[i % n],
  );
}

/** Waits until `svc` routes to a leader and has another eligible pod to fail over to. */
async function leaderWithSuccessor(
  watch: FleetWatch,
  svc: FleetService,
  timeoutMs: number,
): Promise<RoutedLeader> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = watch.leaderOf(svc);
    const others = watch.podsOf(svc).filter((p) => isEligible(p) && p.metadata.uid !== leader?.uid);
    if (leader && others.length > 0 && !watch.problem(svc)) return leader;
    if (Date.now() > deadline) {
      throw new Error(
        `${svc.key}: no settled leader with a successor after ${timeoutMs} ms (${watch.problem(svc)})`,
      );
    }
    await sleep(20);
  }
}

async function writeCounters(c: ControllerProcess) {
  const m: Sample[] = await c.metrics();
  return {
    ops: apiWritesByOperation(m),
    managed: sumOf(m, "zen_lead_api_writes_total"),
    failovers: sumOf(m, "zen_lead_failover_count_total"),
    latencySum: sumOf(m, "zen_lead_failover_latency_seconds_sum"),
    latencyCount: sumOf(m, "zen_lead_failover_latency_seconds_count"),
  };
}

export async function sampleFailovers(
  ctx: FailoverContext,
  kind: FailoverKind,
  count: number,
): Promise<FailoverPhase> {
  const { watch, kubelet } = ctx;
  const phase: FailoverPhase = {
    kind,
    samples: [],
    failures: [],
    floor: [],
    sliceFloor: [],
    writesByOperation: {},
    managedWrites: 0,
    controllerFailovers: 0,
    controllerLatencyMeanMs: NaN,
  };
  const before = await writeCounters(ctx.controller);
  const targets = sampleServices(ctx.fleet.services, count);
  const replacements: Promise<unknown>[] = [];
  let nextStart = performance.now();
  for (const [i, svc] of targets.entries()) {
    await sleep(Math.max(0, nextStart - performance.now()));
    nextStart = performance.now() + ctx.paceMs;
    let from: RoutedLeader;
    try {
      from = await leaderWithSuccessor(watch, svc, ctx.timeoutMs);
    } catch (e) {
      phase.failures.push((e as Error).message);
      continue;
    }
    const waiting = watch.waitForNewLeader(svc, from.uid, ctx.timeoutMs);
    let acked: number;
    try {
      if (kind === "readiness") await kubelet.setPodReady(svc.namespace, from.name, false);
      else {await kubelet.core.deleteNamespacedPod({
          namespace: svc.namespace,
          name: from.name,
          gracePeriodSeconds: 30,
        });}
      acked = performance.now();
    } catch (e) {
      waiting.cancel();
      phase.failures.push(`${svc.key}: ${kind} write for ${from.name} failed: ${e}`);
      continue;
    }
    try {
      const { at, leader } = await waiting.promise;
      const pod = watch.podsOf(svc).find((p) => p.metadata.uid === leader.uid);
      if (!pod || !isEligible(pod)) {
        phase.failures.push(`${svc.key}: failed over to ${leader.name}, not an eligible pod`);
      } else {phase.samples.push({
          kind,
          service: svc.key,
          from: from.name,
          to: leader.name,
          latencyMs: at - acked,
        });}
    } catch (e) {
      phase.failures.push((e as Error).message);
    }
    // Put the fleet back: the old leader Ready again (sticky: it must not take over), or a replacement pod.
    if (kind === "readiness") await kubelet.setPodReady(svc.namespace, from.name, true);
    else replacements.push(kubelet.createPod(svc.namespace, podOptions(ctx.fleet, svc)));
    try {
      phase.floor.push(await ctx.floor.sample());
      phase.sliceFloor.push(await ctx.sliceFloor.sample());
    } catch (e) {
      phase.failures.push(`floor: ${(e as Error).message}`);
    }
    if ((i + 1) % 50 === 0) ctx.progress(`${kind} failovers ${i + 1}/${count}`);
  }
  await Promise.all(replacements);
  // Events are written in the background, and a final pod deletion follows each graceful one: let them land.
  await sleep(kind === "deletion" ? 3000 : 1500);
  const after = await writeCounters(ctx.controller);
  for (const [op, n] of Object.entries(after.ops)) {
    const d = n - (before.ops[op] ?? 0);
    if (d > 0) phase.writesByOperation[op] = d;
  }
  phase.managedWrites = after.managed - before.managed;
  phase.controllerFailovers = after.failovers - before.failovers;
  const n = after.latencyCount - before.latencyCount;
  phase.controllerLatencyMeanMs = n > 0 ? ((after.latencySum - before.latencySum) / n) * 1000 : NaN;
  return phase;
}
