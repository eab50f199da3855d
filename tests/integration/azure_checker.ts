/**
 * The checker of one sequence's end state: what the gateway and the resource group should hold, what they hold,
 * and what is lost, leaked or never settled; and the totals over many sequences.
 */
import type { BackendStatus } from "../../core/plugin/types.ts";
import type { ServiceGatewayEngine } from "../../plugins/azure-servicegateway/engine/engine.ts";
import type { ArmEmulator } from "../emulators/arm/emulator.ts";
import type { FaultCounts, Outcome, Sequence } from "./azure_sequences.ts";

export const nodeOf = (ip: string) => `192.168.0.${(Number(ip.split(".")[3]) % 3) + 1}`;
export const egressIP = (pod: string) => `10.0.0.${pod.slice(1)}`;

/** Requests a fault hit, by route and fault kind; writes that remove something are counted apart as well. */
export function hitsByRoute(emulator: ArmEmulator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of emulator.requests) {
    if (!r.fault) continue;
    const k = `${r.route} ${r.fault}`;
    out[k] = (out[k] ?? 0) + 1;
    if (isRemoval(r.method, r.route, r.body)) out[`${k} removal`] = (out[`${k} removal`] ?? 0) + 1;
  }
  return out;
}

export function isRemoval(method: string, route: string, body: unknown): boolean {
  if (method === "DELETE") return true;
  const b = body as {
    serviceRequests?: { isDelete?: boolean }[];
    addressLocations?: { addresses?: { services?: string[] }[] }[];
  } | undefined;
  if (route === "updateServices") return b?.serviceRequests?.some((r) => r.isDelete) ?? false;
  if (route === "updateAddressLocations") {
    return b?.addressLocations?.some((l) =>
      (l.addresses ?? []).length === 0 || (l.addresses ?? []).some((a) => !a.services?.length)
    ) ?? false;
  }
  return false;
}

/** Everything the gateway and the resource group should hold, as flat names: `service:x`, `addr:...`, ... */
export function expected(
  services: Map<string, { pods: string[] }>,
  egress: Map<string, string>,
): Set<string> {
  const out = new Set<string>();
  const byPod = new Map<string, Set<string>>();
  const add = (svc: string, ip: string) => {
    if (!byPod.has(ip)) byPod.set(ip, new Set());
    byPod.get(ip)!.add(svc);
  };
  const names = new Set<string>();
  for (const [uid, d] of services) {
    names.add(`zl-${uid}`);
    for (const ip of d.pods) add(`zl-${uid}`, ip);
  }
  for (const [pod, e] of egress) {
    names.add(`zl-egress-${e}`);
    add(`zl-egress-${e}`, egressIP(pod));
  }
  for (const n of names) {
    out.add(`service:${n}`).add(`publicIP:${n}-pip`);
    out.add(n.startsWith("zl-egress-") ? `natGateway:${n}-nat` : `loadBalancer:${n}-lb`);
  }
  for (const [ip, s] of byPod) out.add(`addr:${nodeOf(ip)}/${ip}=${[...s].sort().join("+")}`);
  return out;
}

function observed(emulator: ArmEmulator): Set<string> {
  const s = emulator.state();
  const out = new Set<string>();
  for (const n of Object.keys(s.services)) out.add(`service:${n}`);
  for (const n of Object.keys(s.publicIPs)) out.add(`publicIP:${n}`);
  for (const n of Object.keys(s.loadBalancers)) out.add(`loadBalancer:${n}`);
  for (const n of Object.keys(s.natGateways)) out.add(`natGateway:${n}`);
  for (const [node, loc] of Object.entries(s.addressLocations)) {
    for (const [ip, svcs] of Object.entries(loc)) out.add(`addr:${node}/${ip}=${[...svcs].sort().join("+")}`);
  }
  return out;
}

export function check(
  emulator: ArmEmulator,
  engine: ServiceGatewayEngine,
  statuses: Map<string, BackendStatus>,
  want: Set<string>,
  services: Map<string, { port: number }>,
  everApplied: Set<string>,
) {
  const have = observed(emulator);
  const lost = [...want].filter((x) => !have.has(x));
  const leaked = [...have].filter((x) => !want.has(x));
  const unsettled: string[] = [];
  const state = emulator.state();
  for (const [uid, d] of services) {
    const ports = state.loadBalancers[`zl-${uid}-lb`]?.properties.loadBalancingRules.map((r) =>
      r.properties.frontendPort
    );
    if (ports && ports.join() !== String(d.port)) unsettled.push(`zl-${uid}: load balancer ports ${ports}`);
    const ip = state.publicIPs[`zl-${uid}-pip`]?.properties.ipAddress;
    const got = statuses.get(`default/svc-${uid}`)?.ingress[0]?.ip;
    if (got !== ip) unsettled.push(`svc-${uid}: ingress ${got}, frontend IP ${ip}`);
  }
  for (const uid of everApplied) {
    const st = statuses.get(`default/svc-${uid}`);
    if (!services.has(uid) && st && st.ingress.length > 0) {
      unsettled.push(`svc-${uid}: removed, ingress still set`);
    }
  }
  if (engine.busy) unsettled.push("engine busy");
  const debug = engine.debugServices() as {
    services: { name: string; state: string; inFlight: boolean; parked: boolean }[];
    locations: { uncertain: boolean; desired: unknown; azure: unknown };
  };
  for (const r of debug.services) {
    if (r.state !== "Created" || r.inFlight || r.parked) unsettled.push(`${r.name}: ${r.state}`);
  }
  if (JSON.stringify(debug.locations.desired) !== JSON.stringify(debug.locations.azure)) {
    unsettled.push("engine's desired addresses differ from what it believes the gateway holds");
  }
  if (emulator.pendingLateWrites() > 0) unsettled.push("late writes pending");
  const ok = lost.length === 0 && leaked.length === 0 && unsettled.length === 0;
  return { ok, lost, leaked, unsettled };
}

export interface Totals extends FaultCounts {
  sequences: number;
  lost: number;
  leaked: number;
  unsettled: number;
  guard: number;
  failures: { seq: Sequence; outcome: Outcome }[];
}

export function emptyTotals(): Totals {
  return {
    sequences: 0,
    faults: 0,
    faultsHit: 0,
    hitsByRoute: {},
    removalFaults: 0,
    restarts: 0,
    requests: 0,
    lost: 0,
    leaked: 0,
    unsettled: 0,
    guard: 0,
    failures: [],
  };
}

export function addOutcome(t: Totals, seq: Sequence, o: Outcome): void {
  t.sequences++;
  t.faults += o.faults;
  t.faultsHit += o.faultsHit;
  for (const [k, n] of Object.entries(o.hitsByRoute)) t.hitsByRoute[k] = (t.hitsByRoute[k] ?? 0) + n;
  t.removalFaults += o.removalFaults;
  t.restarts += o.restarts;
  t.requests += o.requests;
  if (o.lost.length) t.lost++;
  if (o.leaked.length) t.leaked++;
  if (o.unsettled.length) t.unsettled++;
  if (o.guard.length) t.guard++;
  if (o.lost.length || o.leaked.length || o.unsettled.length || o.guard.length) {
    t.failures.push({ seq, outcome: o });
  }
}
