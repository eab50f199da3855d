/**
 * The JSON shapes of the ARM calls the backend makes (see ../ARM_SHAPES.md). The emulator in
 * tests/emulators/arm/ speaks exactly these.
 */

export type UpdateAction = "FullUpdate" | "PartialUpdate";
export type GatewayServiceType = "Inbound" | "Outbound";

export interface ResourceRef {
  id: string;
}

/** A service registered in a service gateway. */
export interface GatewayService {
  name: string;
  serviceType: GatewayServiceType;
  isDefault?: boolean;
  /** Inbound: the load balancer backend pools the gateway delivers to. */
  loadBalancerBackendPools?: ResourceRef[];
  /** Outbound: the NAT gateway that carries the egress traffic. */
  publicNatGatewayId?: string;
}

/** POST .../serviceGateways/{name}/updateServices */
export interface ServicesRequest {
  action: UpdateAction;
  serviceRequests: { isDelete?: boolean; service: GatewayService }[];
}

/** One location (node IP) in an updateAddressLocations request. */
export interface AddressLocationUpdate {
  addressLocation: string;
  addressUpdateAction?: UpdateAction;
  /** Pod IPs; an address without services is deleted (address-level partial update). */
  addresses?: { address: string; services?: string[] }[];
}

/** POST .../serviceGateways/{name}/updateAddressLocations */
export interface AddressLocationsRequest {
  action: UpdateAction;
  addressLocations: AddressLocationUpdate[];
}

/** An entry of GET .../serviceGateways/{name}/addressLocations */
export interface AddressLocation {
  addressLocation: string;
  addresses: { address: string; services: string[] }[];
}

/** ARM list envelope. */
export interface ListResult<T> {
  value: T[];
  nextLink?: string;
}

/** The envelope every ARM resource shares. */
export interface ArmResource {
  id?: string;
  name?: string;
  location: string;
  sku?: { name: string };
  tags?: Record<string, string>;
}

export interface ServiceGatewayResource extends ArmResource {
  properties: { virtualNetwork?: ResourceRef; provisioningState?: string };
}

export interface PublicIPResource extends ArmResource {
  properties: {
    publicIPAllocationMethod?: "Static" | "Dynamic";
    publicIPAddressVersion?: "IPv4" | "IPv6";
    ipAddress?: string;
    provisioningState?: string;
  };
}

export interface LoadBalancerResource extends ArmResource {
  properties: {
    frontendIPConfigurations: { name: string; properties: { publicIPAddress: ResourceRef } }[];
    backendAddressPools: { name: string; id?: string }[];
    loadBalancingRules: {
      name: string;
      properties: {
        frontendIPConfiguration: ResourceRef;
        backendAddressPool: ResourceRef;
        protocol: "Tcp" | "Udp" | "All";
        frontendPort: number;
        backendPort: number;
      };
    }[];
    provisioningState?: string;
  };
}

export interface NatGatewayResource extends ArmResource {
  properties: { publicIpAddresses: ResourceRef[]; provisioningState?: string };
}

/** Body of an Azure-AsyncOperation status URL. */
export interface AsyncOperationStatus {
  status: "InProgress" | "Succeeded" | "Failed" | "Canceled" | string;
  error?: { code: string; message: string };
}

/** ARM error body. */
export interface ArmErrorBody {
  error: { code: string; message: string };
}
