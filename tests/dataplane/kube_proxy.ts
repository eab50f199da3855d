/**
 * The real kube-proxy (nftables mode) of the pinned release, inside the node namespace, configured by flags
 * only. Conntrack sysctls cannot be written outside the initial namespace, so every conntrack setting is 0
 * ("leave as is"). Its metrics are read through a UNIX-socket relay.
 */
import { join } from "node:path";
import { parsePrometheus, type Sample } from "../../bench/controller_process.ts";
import { httpGetUnix, type Processes, unixToTcpInNs } from "./processes.ts";
import { NODE_IP, POD_CIDR } from "./topology.ts";

const METRICS_PORT = 10249;
const HEALTHZ_PORT = 10256;

export interface KubeProxy {
  metrics(): Promise<Sample[]>;
  /** Network programming observations so far: count and sum of seconds. */
  programming(): Promise<{ count: number; sum: number }>;
}

export async function startKubeProxy(opts: {
  procs: Processes;
  binary: string;
  node: string;
  nodeName: string;
  kubeconfig: string;
  runDir: string;
  timeoutMs?: number;
}): Promise<KubeProxy> {
  const p = opts.procs.start("kube-proxy", opts.node, opts.binary, [
    `--kubeconfig=${opts.kubeconfig}`,
    `--hostname-override=${opts.nodeName}`,
    `--bind-address=${NODE_IP}`,
    "--proxy-mode=nftables",
    `--cluster-cidr=${POD_CIDR}`,
    // Apply every Service/EndpointSlice change at once (the default allows one sync per second).
    "--iptables-min-sync-period=0s",
    "--conntrack-max-per-core=0",
    "--conntrack-tcp-timeout-established=0s",
    "--conntrack-tcp-timeout-close-wait=0s",
    `--metrics-bind-address=127.0.0.1:${METRICS_PORT}`,
    `--healthz-bind-address=127.0.0.1:${HEALTHZ_PORT}`,
    "--v=2",
  ]);
  const socket = join(opts.runDir, "kube-proxy-metrics.sock");
  unixToTcpInNs(opts.procs, opts.node, socket, METRICS_PORT);
  const metrics = async () => parsePrometheus(await httpGetUnix(socket, "/metrics"));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last = "";
  // Ready once it has programmed its first full sync.
  while (true) {
    if (p.status) {
      throw new Error(`expected kube-proxy to keep running, found it exited:\n${p.logTail(30)}`);
    }
    try {
      const synced = (await metrics()).find((s) =>
        s.name === "kubeproxy_sync_proxy_rules_last_timestamp_seconds"
      );
      if (synced && synced.value > 0) break;
      last = "no full sync yet";
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `expected kube-proxy to sync its rules within the timeout, found: ${last}\n${p.logTail(30)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    metrics,
    async programming() {
      const samples = await metrics();
      const pick = (suffix: string) =>
        samples.filter((s) => s.name === `kubeproxy_network_programming_duration_seconds_${suffix}`)
          .reduce((a, s) => a + s.value, 0);
      return { count: pick("count"), sum: pick("sum") };
    },
  };
}
