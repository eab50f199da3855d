/**
 * The data-plane network, all inside namespaces of one run (nothing is added to the host's namespace):
 *
 *   node ns:   bridge cbr0 10.231.0.1/24 (the node's IP), ip_forward=1, kube-proxy's nft tables
 *   pod slots: one ns each, eth0 10.231.0.<10+i>/24 on cbr0, default via 10.231.0.1
 *   client ns: eth0 10.231.1.2/30 routed through the node (10.231.1.1)
 *   ctl ns:    eth0 10.231.2.2/30 routed through the node (10.231.2.1): the controller, whose HTTP health
 *              checks reach the pod IPs
 *
 * Clients and the controller sit on their own routed links, so replies from a pod pass the node's conntrack
 * (un-DNAT) without br_netfilter. The CIDRs are not the usual 10.244/10.96, and no host route points at them.
 */
import { NetnsGroup } from "./netns.ts";

export const POD_CIDR = "10.231.0.0/16";
export const SERVICE_CIDR = "10.131.0.0/16";
export const NODE_IP = "10.231.0.1";
export const CLIENT_IP = "10.231.1.2";
export const CONTROLLER_IP = "10.231.2.2";

/** One pod's network: its namespace, address and the node-side end of its veth. */
export interface PodSlot {
  index: number;
  ns: string;
  ip: string;
  /** The veth end in the node namespace (taking it down cuts the pod off). */
  nodeVeth: string;
}

export class Topology {
  readonly netns = new NetnsGroup();
  node = "";
  client = "";
  controller = "";
  readonly slots: PodSlot[] = [];

  /** Builds node, client and controller namespaces and `pods` pod slots; destroys what it made on failure. */
  static async create(pods: number): Promise<Topology> {
    const t = new Topology();
    try {
      await t.#build(pods);
    } catch (err) {
      await t.destroy();
      throw err;
    }
    return t;
  }

  async #build(pods: number): Promise<void> {
    const n = this.netns;
    this.node = await n.add("node");
    await n.exec(this.node, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    await n.ip(this.node, ["link", "add", "cbr0", "type", "bridge"]);
    await n.ip(this.node, ["addr", "add", `${NODE_IP}/24`, "dev", "cbr0"]);
    await n.ip(this.node, ["link", "set", "cbr0", "up"]);
    // Connections made from the node itself to a ClusterIP need a route (else ENETUNREACH).
    await n.ip(this.node, ["route", "add", SERVICE_CIDR, "dev", "cbr0"]);
    this.client = await this.#routedPeer("client", "vc", "10.231.1.1", CLIENT_IP);
    this.controller = await this.#routedPeer("ctl", "vk", "10.231.2.1", CONTROLLER_IP);
    for (let i = 0; i < pods; i++) await this.addSlot();
  }

  /** A namespace on a /30 point-to-point link to the node, default route through it. */
  async #routedPeer(role: string, veth: string, nodeSide: string, peerSide: string): Promise<string> {
    const n = this.netns;
    const ns = await n.add(role);
    await n.ip(this.node, ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await n.ip(this.node, ["addr", "add", `${nodeSide}/30`, "dev", veth]);
    await n.ip(this.node, ["link", "set", veth, "up"]);
    await n.ip(ns, ["addr", "add", `${peerSide}/30`, "dev", "eth0"]);
    await n.ip(ns, ["link", "set", "eth0", "up"]);
    await n.ip(ns, ["route", "add", "default", "via", nodeSide]);
    return ns;
  }

  /** One more pod namespace with its veth on the bridge. */
  async addSlot(): Promise<PodSlot> {
    const n = this.netns;
    const index = this.slots.length;
    const ns = await n.add(`pod${index}`);
    const nodeVeth = `vp${index}`;
    const ip = `10.231.0.${10 + index}`;
    await n.ip(this.node, ["link", "add", nodeVeth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await n.ip(this.node, ["link", "set", nodeVeth, "master", "cbr0", "up"]);
    await n.ip(ns, ["addr", "add", `${ip}/24`, "dev", "eth0"]);
    await n.ip(ns, ["link", "set", "eth0", "up"]);
    await n.ip(ns, ["route", "add", "default", "via", NODE_IP]);
    const slot = { index, ns, ip, nodeVeth };
    this.slots.push(slot);
    return slot;
  }

  /** Takes a pod's link down (its network goes away) or up again. */
  async setLink(slot: PodSlot, up: boolean): Promise<void> {
    await this.netns.ip(this.node, ["link", "set", slot.nodeVeth, up ? "up" : "down"]);
  }

  destroy(): Promise<void> {
    return this.netns.destroy();
  }
}
