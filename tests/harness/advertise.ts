// Chooses the address kube-apiserver advertises in the `kubernetes` Service's endpoints.

/**
 * Used when the machine has no usable interface address (no default route, only loopback).
 * It is TEST-NET-2 (RFC 5737): never routed, and nothing here connects to it — clients use the
 * loopback URL — but unlike 127.0.0.1 the API server accepts it as an endpoint address.
 */
export const FALLBACK_ADVERTISE_ADDRESS = "198.51.100.10";

/** Minimal view of Deno.NetworkInterfaceInfo, so the choice can be tested with made-up interfaces. */
export interface InterfaceAddress {
  family: "IPv4" | "IPv6";
  address: string;
}

function isUsableIPv4(address: string): boolean {
  const [a, b] = address.split(".").map(Number);
  // Loopback is rejected in endpoints; link-local and 0.0.0.0/8 are not real host addresses.
  return !(a === 127 || a === 0 || (a === 169 && b === 254));
}

/** The first non-loopback, non-link-local IPv4 interface address, or the fallback when there is none. */
export function pickAdvertiseAddress(interfaces: readonly InterfaceAddress[]): string {
  const ipv4 = interfaces.find((i) => i.family === "IPv4" && isUsableIPv4(i.address));
  return ipv4?.address ?? FALLBACK_ADVERTISE_ADDRESS;
}

/** pickAdvertiseAddress over this machine's interfaces. */
export function hostAdvertiseAddress(): string {
  try {
    return pickAdvertiseAddress(Deno.networkInterfaces());
  } catch {
    return FALLBACK_ADVERTISE_ADDRESS;
  }
}
