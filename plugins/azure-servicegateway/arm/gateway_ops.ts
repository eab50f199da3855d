/** GatewayApi over ARM: the resource paths and request bodies of one service gateway and its services. */
import type { ArmClient } from "./client.ts";
import {
  type GatewayApi,
  type InboundSpec,
  lbProtocol,
  type OwnedResources,
  portsKey,
  SERVICE_KEY_TAG,
  type ServiceSpec,
} from "./gateway_api.ts";
import type {
  AddressLocation,
  AddressLocationsRequest,
  GatewayService,
  LoadBalancerResource,
  NatGatewayResource,
  PublicIPResource,
  ServiceGatewayResource,
  ServicesRequest,
} from "./shapes.ts";

export interface GatewayCoordinates {
  subscriptionId: string;
  resourceGroup: string;
  serviceGatewayName: string;
  virtualNetworkName: string;
  location: string;
  /** Create the gateway at start when it does not exist. */
  createGateway: boolean;
}

export class ServiceGatewayOps implements GatewayApi {
  private readonly tags: Record<string, string>;
  constructor(private readonly arm: ArmClient, private readonly at: GatewayCoordinates) {
    this.tags = { "managed-by": "zen-lead", "zen-lead-gateway": at.serviceGatewayName };
  }

  private get group(): string {
    return `/subscriptions/${this.at.subscriptionId}/resourceGroups/${this.at.resourceGroup}`;
  }
  private network(type: string, name: string): string {
    return `${this.group}/providers/Microsoft.Network/${type}/${encodeURIComponent(name)}`;
  }
  get gatewayPath(): string {
    return this.network("serviceGateways", this.at.serviceGatewayName);
  }
  publicIPPath(service: string): string {
    return this.network("publicIPAddresses", `${service}-pip`);
  }
  loadBalancerPath(service: string): string {
    return this.network("loadBalancers", `${service}-lb`);
  }
  natGatewayPath(service: string): string {
    return this.network("natGateways", `${service}-nat`);
  }

  async ensureGateway(signal: AbortSignal): Promise<void> {
    if (await this.arm.get<ServiceGatewayResource>(this.gatewayPath, signal)) return;
    if (!this.at.createGateway) {
      throw new Error(
        `azure-servicegateway: service gateway ${this.gatewayPath} does not exist; create it or set option ` +
          `createGateway: true`,
      );
    }
    const body: ServiceGatewayResource = {
      location: this.at.location,
      sku: { name: "Standard" },
      properties: { virtualNetwork: { id: this.network("virtualNetworks", this.at.virtualNetworkName) } },
    };
    await this.arm.put(this.gatewayPath, body, signal);
  }

  listServices(signal: AbortSignal): Promise<GatewayService[]> {
    return this.arm.list<GatewayService>(`${this.gatewayPath}/services`, signal);
  }

  listAddressLocations(signal: AbortSignal): Promise<AddressLocation[]> {
    return this.arm.list<AddressLocation>(`${this.gatewayPath}/addressLocations`, signal);
  }

  async listOwnedResources(signal: AbortSignal): Promise<OwnedResources[]> {
    const out = new Map<string, OwnedResources>();
    const entry = (name: string, kind: ServiceSpec["kind"] | undefined) => {
      let e = out.get(name);
      if (!e) {
        e = {
          name,
          kind: kind ?? (name.includes("-egress-") ? "outbound" : "inbound"),
          publicIP: false,
          frontend: false,
        };
        out.set(name, e);
      } else if (kind) e.kind = kind;
      return e;
    };
    const kinds: [string, string, ServiceSpec["kind"] | undefined][] = [
      ["publicIPAddresses", "-pip", undefined],
      ["loadBalancers", "-lb", "inbound"],
      ["natGateways", "-nat", "outbound"],
    ];
    for (const [type, suffix, kind] of kinds) {
      const list = await this.arm.list<Partial<LoadBalancerResource> & { name?: string }>(
        `${this.group}/providers/Microsoft.Network/${type}`,
        signal,
      );
      for (const r of list) {
        if (r.tags?.["zen-lead-gateway"] !== this.at.serviceGatewayName || !r.name?.endsWith(suffix)) {
          continue;
        }
        const e = entry(r.name.slice(0, -suffix.length), kind);
        if (!kind) e.publicIP = true;
        else e.frontend = true;
        e.key ??= r.tags?.[SERVICE_KEY_TAG];
        if (type === "loadBalancers") {
          e.portsKey = portsKey((r.properties?.loadBalancingRules ?? []).map((rule) => ({
            port: rule.properties.frontendPort,
            targetPort: rule.properties.backendPort,
            protocol: rule.properties.protocol,
          })));
        }
      }
    }
    return [...out.values()];
  }

  private tagsOf(spec: ServiceSpec): Record<string, string> {
    return spec.kind === "inbound" && spec.key ? { ...this.tags, [SERVICE_KEY_TAG]: spec.key } : this.tags;
  }

  async ensureService(spec: ServiceSpec, signal: AbortSignal): Promise<{ frontendIP?: string }> {
    const pipPath = this.publicIPPath(spec.name);
    const pipBody: PublicIPResource = {
      location: this.at.location,
      sku: { name: "Standard" },
      tags: this.tagsOf(spec),
      properties: { publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv4" },
    };
    const pip = await this.arm.put<PublicIPResource>(pipPath, pipBody, signal);
    const service: GatewayService = spec.kind === "inbound"
      ? await this.ensureLoadBalancer(spec, pipPath, signal)
      : await this.ensureNatGateway(spec.name, pipPath, signal);
    const request: ServicesRequest = { action: "PartialUpdate", serviceRequests: [{ service }] };
    await this.arm.post(`${this.gatewayPath}/updateServices`, request, signal);
    return { frontendIP: pip.properties.ipAddress };
  }

  private async ensureLoadBalancer(
    spec: InboundSpec,
    pipPath: string,
    signal: AbortSignal,
  ): Promise<GatewayService> {
    const lbPath = this.loadBalancerPath(spec.name);
    const frontend = `${lbPath}/frontendIPConfigurations/frontend`;
    const pool = `${lbPath}/backendAddressPools/leaders`;
    const body: LoadBalancerResource = {
      location: this.at.location,
      sku: { name: "Standard" },
      tags: this.tagsOf(spec),
      properties: {
        frontendIPConfigurations: [{ name: "frontend", properties: { publicIPAddress: { id: pipPath } } }],
        backendAddressPools: [{ name: "leaders" }],
        loadBalancingRules: spec.ports.map((p, i) => ({
          name: `${p.name || "port"}-${i}`,
          properties: {
            frontendIPConfiguration: { id: frontend },
            backendAddressPool: { id: pool },
            protocol: lbProtocol(p.protocol),
            frontendPort: p.port,
            backendPort: p.targetPort,
          },
        })),
      },
    };
    await this.arm.put(lbPath, body, signal);
    return {
      name: spec.name,
      serviceType: "Inbound",
      isDefault: false,
      loadBalancerBackendPools: [{ id: pool }],
    };
  }

  private async ensureNatGateway(
    name: string,
    pipPath: string,
    signal: AbortSignal,
  ): Promise<GatewayService> {
    const natPath = this.natGatewayPath(name);
    const body: NatGatewayResource = {
      location: this.at.location,
      sku: { name: "Standard" },
      tags: this.tags,
      properties: { publicIpAddresses: [{ id: pipPath }] },
    };
    await this.arm.put(natPath, body, signal);
    return { name, serviceType: "Outbound", isDefault: false, publicNatGatewayId: natPath };
  }

  async deleteService(name: string, kind: ServiceSpec["kind"], signal: AbortSignal): Promise<void> {
    const serviceType = kind === "inbound" ? "Inbound" : "Outbound";
    const request: ServicesRequest = {
      action: "PartialUpdate",
      serviceRequests: [{ isDelete: true, service: { name, serviceType } }],
    };
    // Unregister first: the gateway must stop using the load balancer / NAT gateway before they go.
    await this.arm.post(`${this.gatewayPath}/updateServices`, request, signal);
    await this.arm.delete(
      kind === "inbound" ? this.loadBalancerPath(name) : this.natGatewayPath(name),
      signal,
    );
    await this.arm.delete(this.publicIPPath(name), signal);
  }

  async updateAddressLocations(request: AddressLocationsRequest, signal: AbortSignal): Promise<void> {
    await this.arm.post(`${this.gatewayPath}/updateAddressLocations`, request, signal);
  }
}
