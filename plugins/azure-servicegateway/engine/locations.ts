/**
 * Address locations as plain data, and the differ that turns "what Kubernetes wants" versus "what the gateway
 * has" into one updateAddressLocations request. A location is a node IP; each address is a pod IP at that node
 * with the set of gateway services it belongs to.
 */
import type { AddressLocationsRequest, AddressLocationUpdate } from "../arm/shapes.ts";

/** nodeIP -> podIP -> service names. */
export type LocationMap = ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>;

/** Service name -> podIP -> nodeIP: which pods each service routes to, and where they run. */
export type Memberships = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Inverts memberships of the services that exist in the gateway into the location map Azure should hold. */
export function desiredLocations(memberships: Memberships, live: (service: string) => boolean): LocationMap {
  const byPod = new Map<string, { node: string; services: Set<string> }>();
  for (const [service, pods] of memberships) {
    if (!live(service)) continue;
    for (const [podIP, nodeIP] of pods) {
      const cur = byPod.get(podIP);
      // One IP lives at one node; on a transient disagreement the smaller node IP wins, deterministically.
      if (!cur) byPod.set(podIP, { node: nodeIP, services: new Set([service]) });
      else {
        cur.services.add(service);
        if (nodeIP < cur.node) cur.node = nodeIP;
      }
    }
  }
  const out = new Map<string, Map<string, Set<string>>>();
  for (const [podIP, { node, services }] of byPod) {
    let loc = out.get(node);
    if (!loc) out.set(node, loc = new Map());
    loc.set(podIP, services);
  }
  return out;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

const EMPTY = new Map<string, ReadonlySet<string>>();

export interface LocationsDiff {
  request: AddressLocationsRequest;
  added: number;
  removed: number;
  updated: number;
}

/** A PartialUpdate touching only changed addresses, or a FullUpdate when that is the smaller request. */
export function diffLocations(desired: LocationMap, azure: LocationMap): LocationsDiff | undefined {
  const partial: AddressLocationUpdate[] = [];
  let added = 0, removed = 0, updated = 0, partialEntries = 0;
  const nodes = [...new Set([...desired.keys(), ...azure.keys()])].sort();
  for (const node of nodes) {
    const want = desired.get(node) ?? EMPTY;
    const have = azure.get(node) ?? EMPTY;
    if (want.size === 0) {
      if (have.size === 0) continue;
      // Location-level partial update without addresses: the whole location goes.
      partial.push({ addressLocation: node, addresses: [] });
      removed += have.size;
      partialEntries += 1;
      continue;
    }
    const changes: AddressLocationUpdate["addresses"] = [];
    for (const ip of [...new Set([...want.keys(), ...have.keys()])].sort()) {
      const w = want.get(ip);
      const h = have.get(ip);
      if (!w) {
        changes.push({ address: ip });
        removed++;
      } else if (!h || !sameSet(w, h)) {
        changes.push({ address: ip, services: [...w].sort() });
        if (h) updated++;
        else added++;
      }
    }
    if (changes.length === 0) continue;
    partial.push({ addressLocation: node, addressUpdateAction: "PartialUpdate", addresses: changes });
    partialEntries += changes.length;
  }
  if (partial.length === 0) return undefined;
  let fullEntries = 0;
  for (const loc of desired.values()) fullEntries += Math.max(1, loc.size);
  if (fullEntries < partialEntries) return { request: fullRequest(desired), added, removed, updated };
  return { request: { action: "PartialUpdate", addressLocations: partial }, added, removed, updated };
}

/** The whole desired map as one FullUpdate: what a restart or a large drift is cheapest to send as. */
export function fullRequest(desired: LocationMap): AddressLocationsRequest {
  return {
    action: "FullUpdate",
    addressLocations: [...desired.keys()].sort().map((node) => ({
      addressLocation: node,
      addressUpdateAction: "FullUpdate",
      addresses: [...desired.get(node)!.entries()].sort(([a], [b]) => a.localeCompare(b)).map((
        [address, services],
      ) => ({ address, services: [...services].sort() })),
    })),
  };
}

/** What the gateway holds after it accepted `request` (the documented update semantics). */
export function applyLocationsRequest(azure: LocationMap, request: AddressLocationsRequest): LocationMap {
  const out = new Map<string, Map<string, ReadonlySet<string>>>();
  if (request.action === "PartialUpdate") { for (const [node, loc] of azure) out.set(node, new Map(loc)); }
  for (const entry of request.addressLocations) {
    const addresses = entry.addresses ?? [];
    if (request.action === "PartialUpdate" && addresses.length === 0) {
      out.delete(entry.addressLocation);
      continue;
    }
    const replace = request.action === "FullUpdate" || entry.addressUpdateAction === "FullUpdate";
    const loc = replace
      ? new Map<string, ReadonlySet<string>>()
      : (out.get(entry.addressLocation) ?? new Map());
    for (const a of addresses) {
      if (!a.services || a.services.length === 0) loc.delete(a.address);
      else loc.set(a.address, new Set(a.services));
    }
    if (loc.size === 0) out.delete(entry.addressLocation);
    else out.set(entry.addressLocation, loc);
  }
  return out;
}

/** How many addresses reference `service`. */
export function referencesTo(map: LocationMap, service: string): number {
  let n = 0;
  for (const loc of map.values()) for (const services of loc.values()) if (services.has(service)) n++;
  return n;
}

/** Whether a request in flight could still add a reference to `service`. */
export function requestReferences(request: AddressLocationsRequest | undefined, service: string): boolean {
  if (!request) return false;
  return request.addressLocations.some((l) => (l.addresses ?? []).some((a) => a.services?.includes(service)));
}

/** The gateway's listing as a location map. */
export function locationMapOf(
  listing: readonly {
    addressLocation: string;
    addresses?: readonly { address: string; services?: readonly string[] }[];
  }[],
): LocationMap {
  const out = new Map<string, Map<string, ReadonlySet<string>>>();
  for (const l of listing) {
    const loc = new Map<string, ReadonlySet<string>>();
    for (const a of l.addresses ?? []) {
      if (a.services && a.services.length > 0) loc.set(a.address, new Set(a.services));
    }
    if (loc.size > 0) out.set(l.addressLocation, loc);
  }
  return out;
}

/** Plain JSON of a location map, sorted, for debug output and test comparisons. */
export function locationMapJson(map: LocationMap): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const node of [...map.keys()].sort()) {
    const loc: Record<string, string[]> = {};
    const entries = map.get(node)!;
    for (const ip of [...entries.keys()].sort()) loc[ip] = [...entries.get(ip)!].sort();
    out[node] = loc;
  }
  return out;
}
