/** What the engine asks of Azure, one method per step of its state machine; tests substitute fakes. */
import type { AddressLocation, AddressLocationsRequest, GatewayService } from "./shapes.ts";

export interface ServicePort {
  name?: string;
  port: number;
  targetPort: number;
  protocol: string;
}

/** An inbound service: a public IP and a load balancer in front of the leader pods. */
export interface InboundSpec {
  kind: "inbound";
  name: string;
  ports: readonly ServicePort[];
  /** `namespace/name` of the source Service, tagged on its resources so a restart can clear its status. */
  key?: string;
}

/** The tag that carries an inbound service's Kubernetes key. */
export const SERVICE_KEY_TAG = "zen-lead-service";

/** An outbound (egress) service: a public IP on a NAT gateway for pods' outbound traffic. */
export interface OutboundSpec {
  kind: "outbound";
  name: string;
}

export type ServiceSpec = InboundSpec | OutboundSpec;

/** The protocol of a load-balancing rule for a Service port's protocol. */
export function lbProtocol(protocol: string): "Tcp" | "Udp" | "All" {
  const p = protocol.toUpperCase();
  return p === "TCP" ? "Tcp" : p === "UDP" ? "Udp" : "All";
}

/** Ports as one comparable string, the same whether read from a spec or from a load balancer's rules. */
export function portsKey(ports: readonly { port: number; targetPort: number; protocol: string }[]): string {
  return ports.map((p) => `${p.port}:${p.targetPort}/${lbProtocol(p.protocol)}`).sort().join(",");
}

/** A service's network resources found in the resource group (tagged for this gateway). */
export interface OwnedResources {
  name: string;
  kind: ServiceSpec["kind"];
  publicIP: boolean;
  /** The load balancer (inbound) or NAT gateway (outbound). */
  frontend: boolean;
  /** Of the load balancer's rules (inbound with a load balancer only). */
  portsKey?: string;
  /** The Service key tagged on its resources (inbound), if any. */
  key?: string;
}

export interface GatewayApi {
  /** Makes sure the service gateway exists (creating it when configured to). */
  ensureGateway(signal: AbortSignal): Promise<void>;
  listServices(signal: AbortSignal): Promise<GatewayService[]>;
  listAddressLocations(signal: AbortSignal): Promise<AddressLocation[]>;
  /**
   * Services whose network resources (public IP, load balancer, NAT gateway) exist, tagged for this gateway:
   * a create interrupted before it registered the service leaves these, and a restart must still clean them.
   */
  listOwnedResources(signal: AbortSignal): Promise<OwnedResources[]>;
  /** Creates or updates every resource of a service, idempotently; returns its public frontend IP. */
  ensureService(spec: ServiceSpec, signal: AbortSignal): Promise<{ frontendIP?: string }>;
  /** Unregisters a service and deletes its resources; resources already gone count as deleted. */
  deleteService(name: string, kind: ServiceSpec["kind"], signal: AbortSignal): Promise<void>;
  updateAddressLocations(request: AddressLocationsRequest, signal: AbortSignal): Promise<void>;
}
