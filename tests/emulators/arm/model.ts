/**
 * The ARM emulator's resource model: a service gateway with services and address locations, and the public
 * IPs, load balancers and NAT gateways its services use. Mutations validate like ARM does and throw ArmFault
 * with the status and error code ARM would answer. Written independently of the plugin's differ so tests catch
 * disagreements between the two.
 */
import { isIP } from "node:net";
import type * as arm from "../../../plugins/azure-servicegateway/arm/shapes.ts";

/** A PUT body must name its location, as ARM requires (400 otherwise). */
function requireLocation(body: { location?: string } | undefined): void {
  if (!body?.location) throw new ArmFault(400, "LocationRequired", "body.location is required");
}

export class ArmFault extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface EmulatorState {
  gateway?: arm.ServiceGatewayResource;
  services: Record<string, arm.GatewayService>;
  /** nodeIP -> podIP -> sorted service names. */
  addressLocations: Record<string, Record<string, string[]>>;
  publicIPs: Record<string, arm.PublicIPResource>;
  loadBalancers: Record<string, arm.LoadBalancerResource>;
  natGateways: Record<string, arm.NatGatewayResource>;
}

const lower = (s: string) => s.toLowerCase();

export class GatewayModel {
  gateway: arm.ServiceGatewayResource | undefined;
  readonly services = new Map<string, arm.GatewayService>();
  readonly locations = new Map<string, Map<string, Set<string>>>();
  readonly publicIPs = new Map<string, arm.PublicIPResource>();
  readonly loadBalancers = new Map<string, arm.LoadBalancerResource>();
  readonly natGateways = new Map<string, arm.NatGatewayResource>();
  private nextIP = 1;

  // ---- the gateway ----

  requireGateway(): void {
    if (!this.gateway) throw new ArmFault(404, "ResourceNotFound", "service gateway not found");
  }

  /** An update on the gateway: it must exist and the action must be FullUpdate or PartialUpdate (else 404/400). */
  private requireUpdate(req: { action?: string } | undefined): void {
    this.requireGateway();
    if (req?.action !== "FullUpdate" && req?.action !== "PartialUpdate") {
      throw new ArmFault(
        400,
        "InvalidRequest",
        `action must be FullUpdate or PartialUpdate, got ${req?.action}`,
      );
    }
  }

  putGateway(
    id: string,
    body: arm.ServiceGatewayResource,
  ): { created: boolean; resource: arm.ServiceGatewayResource } {
    requireLocation(body);
    const created = !this.gateway;
    this.gateway = { ...body, id, properties: { ...body.properties, provisioningState: "Succeeded" } };
    return { created, resource: this.gateway };
  }

  deleteGateway(): void {
    if (this.services.size > 0) throw new ArmFault(409, "InUse", "service gateway still has services");
    this.gateway = undefined;
    this.locations.clear();
  }

  referencesTo(service: string): number {
    let n = 0;
    for (const loc of this.locations.values()) for (const s of loc.values()) if (s.has(service)) n++;
    return n;
  }

  updateServices(req: arm.ServicesRequest): void {
    this.requireUpdate(req);
    if (!Array.isArray(req.serviceRequests)) {
      throw new ArmFault(400, "InvalidRequest", "serviceRequests missing");
    }
    const next = new Map(req.action === "FullUpdate" ? [] : this.services);
    for (const r of req.serviceRequests) {
      const s = r.service;
      if (!s?.name) throw new ArmFault(400, "InvalidRequest", "service.name is required");
      if (r.isDelete) {
        next.delete(s.name);
        continue;
      }
      if (s.serviceType === "Inbound") {
        const pool = s.loadBalancerBackendPools?.[0]?.id;
        const lb = pool
          ? this.loadBalancers.get(lower(pool.replace(/\/backendAddressPools\/[^/]+$/, "")))
          : undefined;
        if (!lb) throw new ArmFault(400, "InvalidResourceReference", `backend pool ${pool} does not exist`);
      } else if (s.serviceType === "Outbound") {
        if (!s.publicNatGatewayId || !this.natGateways.has(lower(s.publicNatGatewayId))) {
          throw new ArmFault(
            400,
            "InvalidResourceReference",
            `NAT gateway ${s.publicNatGatewayId} does not exist`,
          );
        }
      } else {throw new ArmFault(
          400,
          "InvalidRequest",
          `serviceType must be Inbound or Outbound: ${s.serviceType}`,
        );}
      next.set(s.name, structuredClone(s));
    }
    for (const name of this.services.keys()) {
      if (!next.has(name) && this.referencesTo(name) > 0) {
        throw new ArmFault(
          409,
          "ServiceInUse",
          `service ${name} is referenced by ${this.referencesTo(name)} addresses`,
        );
      }
    }
    this.services.clear();
    for (const [k, v] of next) this.services.set(k, v);
  }

  updateAddressLocations(req: arm.AddressLocationsRequest): void {
    this.requireUpdate(req);
    const next = new Map<string, Map<string, Set<string>>>();
    if (req.action === "PartialUpdate") {
      for (const [node, loc] of this.locations) {
        next.set(node, new Map([...loc].map(([ip, s]) => [ip, new Set(s)])));
      }
    }
    for (const l of req.addressLocations ?? []) {
      if (!isIP(l.addressLocation)) {
        throw new ArmFault(400, "InvalidAddress", `bad location ${l.addressLocation}`);
      }
      const addresses = l.addresses ?? [];
      if (req.action === "PartialUpdate" && addresses.length === 0) {
        next.delete(l.addressLocation);
        continue;
      }
      const full = req.action === "FullUpdate" || l.addressUpdateAction === "FullUpdate";
      const loc = full ? new Map<string, Set<string>>() : (next.get(l.addressLocation) ?? new Map());
      for (const a of addresses) {
        if (!isIP(a.address)) throw new ArmFault(400, "InvalidAddress", `bad address ${a.address}`);
        if (!a.services || a.services.length === 0) {
          loc.delete(a.address);
          continue;
        }
        for (const s of a.services) {
          if (!this.services.has(s)) {
            throw new ArmFault(
              400,
              "InvalidServiceReference",
              `address ${a.address} references unknown service ${s}`,
            );
          }
        }
        loc.set(a.address, new Set(a.services));
      }
      if (loc.size === 0) next.delete(l.addressLocation);
      else next.set(l.addressLocation, loc);
    }
    const seen = new Map<string, string>();
    for (const [node, loc] of next) {
      for (const ip of loc.keys()) {
        if (seen.has(ip)) {
          throw new ArmFault(400, "DuplicateAddress", `address ${ip} at both ${seen.get(ip)} and ${node}`);
        }
        seen.set(ip, node);
      }
    }
    this.locations.clear();
    for (const [k, v] of next) this.locations.set(k, v);
  }

  // ---- network resources ----

  putPublicIP(id: string, body: arm.PublicIPResource): { created: boolean; resource: arm.PublicIPResource } {
    requireLocation(body);
    const existing = this.publicIPs.get(lower(id));
    const ip = existing?.properties.ipAddress ??
      `20.0.${Math.floor(this.nextIP / 250)}.${(this.nextIP++ % 250) + 1}`;
    const resource: arm.PublicIPResource = {
      ...body,
      id,
      name: id.split("/").pop(),
      properties: { ...body.properties, ipAddress: ip, provisioningState: "Succeeded" },
    };
    this.publicIPs.set(lower(id), resource);
    return { created: !existing, resource };
  }

  deletePublicIP(id: string): void {
    for (const lb of this.loadBalancers.values()) {
      for (const f of lb.properties.frontendIPConfigurations) {
        if (lower(f.properties.publicIPAddress.id) === lower(id)) {
          throw new ArmFault(409, "PublicIPAddressInUse", `${id} is used by ${lb.id}`);
        }
      }
    }
    for (const nat of this.natGateways.values()) {
      if (nat.properties.publicIpAddresses.some((p) => lower(p.id) === lower(id))) {
        throw new ArmFault(409, "PublicIPAddressInUse", `${id} is used by ${nat.id}`);
      }
    }
    this.publicIPs.delete(lower(id));
  }

  /** A resource referencing the public IP `id` needs it to exist (400 `message` otherwise). */
  private requirePublicIP(id: string, message: string): void {
    if (!this.publicIPs.has(lower(id))) throw new ArmFault(400, "InvalidResourceReference", message);
  }

  putLoadBalancer(
    id: string,
    body: arm.LoadBalancerResource,
  ): { created: boolean; resource: arm.LoadBalancerResource } {
    requireLocation(body);
    for (const f of body.properties?.frontendIPConfigurations ?? []) {
      this.requirePublicIP(
        f.properties.publicIPAddress.id,
        `public IP ${f.properties.publicIPAddress.id} not found`,
      );
    }
    const created = !this.loadBalancers.has(lower(id));
    const resource: arm.LoadBalancerResource = {
      ...structuredClone(body),
      id,
      name: id.split("/").pop(),
      properties: {
        ...structuredClone(body.properties),
        backendAddressPools: body.properties.backendAddressPools.map((p) => ({
          ...p,
          id: `${id}/backendAddressPools/${p.name}`,
        })),
        provisioningState: "Succeeded",
      },
    };
    this.loadBalancers.set(lower(id), resource);
    return { created, resource };
  }

  deleteLoadBalancer(id: string): void {
    for (const s of this.services.values()) {
      if (s.loadBalancerBackendPools?.some((p) => lower(p.id).startsWith(lower(id) + "/"))) {
        throw new ArmFault(409, "InUse", `${id} is used by service gateway service ${s.name}`);
      }
    }
    this.loadBalancers.delete(lower(id));
  }

  putNatGateway(
    id: string,
    body: arm.NatGatewayResource,
  ): { created: boolean; resource: arm.NatGatewayResource } {
    requireLocation(body);
    for (const p of body.properties?.publicIpAddresses ?? []) this.requirePublicIP(p.id, `${p.id} not found`);
    const created = !this.natGateways.has(lower(id));
    const resource = {
      ...structuredClone(body),
      id,
      name: id.split("/").pop(),
      properties: { ...body.properties, provisioningState: "Succeeded" },
    };
    this.natGateways.set(lower(id), resource);
    return { created, resource };
  }

  deleteNatGateway(id: string): void {
    for (const s of this.services.values()) {
      if (s.publicNatGatewayId && lower(s.publicNatGatewayId) === lower(id)) {
        throw new ArmFault(409, "InUse", `${id} is used by service gateway service ${s.name}`);
      }
    }
    this.natGateways.delete(lower(id));
  }

  /** A deep, sorted copy for assertions. */
  snapshot(): EmulatorState {
    const sorted = <T>(m: Map<string, T>, key: (k: string, v: T) => string = (k) => k) =>
      Object.fromEntries(
        [...m].map(([k, v]) => [key(k, v), structuredClone(v)]).sort(([a], [b]) => a < b ? -1 : 1),
      );
    const byName = (_k: string, v: { name?: string; id?: string }) => v.id?.split("/").pop() ?? _k;
    const addressLocations: EmulatorState["addressLocations"] = {};
    for (const node of [...this.locations.keys()].sort()) {
      const loc = this.locations.get(node)!;
      addressLocations[node] = Object.fromEntries(
        [...loc.keys()].sort().map((ip) => [ip, [...loc.get(ip)!].sort()]),
      );
    }
    return {
      gateway: this.gateway ? structuredClone(this.gateway) : undefined,
      services: sorted(this.services),
      addressLocations,
      publicIPs: sorted(this.publicIPs, byName),
      loadBalancers: sorted(this.loadBalancers, byName),
      natGateways: sorted(this.natGateways, byName),
    };
  }
}
