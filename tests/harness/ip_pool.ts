// Hands out pod IPs the way a CNI plugin would, from an IPv4 /16 and an IPv6 /64 range.

export type IPFamilyChoice = "IPv4" | "IPv6" | "DualStack";

/** Sequential allocator; IPv4 addresses skip .0 and .255 so every address looks like a host address. */
export class PodIPPool {
  #next = 0;
  constructor(
    /** First two octets of the IPv4 /16, e.g. "10.244". */
    readonly ipv4Prefix = "10.244",
    /** IPv6 prefix ending in "::", e.g. "fd00:10:244::". */
    readonly ipv6Prefix = "fd00:10:244::",
  ) {}

  /** Addresses for one pod; the first is the primary (status.podIP). */
  allocate(family: IPFamilyChoice = "IPv4"): string[] {
    const n = ++this.#next;
    // Map n onto host numbers 1..254 of each /24: 254 usable per third octet.
    const third = Math.floor((n - 1) / 254);
    if (third > 255) throw new Error(`expected at most ${256 * 254} pods per pool, found allocation #${n}`);
    const v4 = `${this.ipv4Prefix}.${third}.${((n - 1) % 254) + 1}`;
    const v6 = `${this.ipv6Prefix}${n.toString(16)}`;
    if (family === "IPv4") return [v4];
    if (family === "IPv6") return [v6];
    return [v4, v6];
  }
}
