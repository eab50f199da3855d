/**
 * What the Node cache costs: N kubelet-shaped Nodes (labels, annotations, five conditions, addresses, capacity,
 * nodeInfo, 50 images) through the controller's own `nodeTransform`, kept in a Map as the informer keeps them;
 * the V8 heap after a full collection with and without them, and the JSON size of a Node before and after.
 *
 *   deno run --v8-flags=--expose-gc bench/node_cache.ts [--nodes=1000]
 */
import { nodeTransform } from "../core/controller/transforms.ts";
import type { Node } from "../core/kube/types.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with --v8-flags=--expose-gc (the figures are post-GC heap deltas)");
  Deno.exit(2);
}
const arg = Deno.args.find((a) => a.startsWith("--nodes="));
const count = arg ? Number(arg.slice("--nodes=".length)) : 1000;
if (!Number.isInteger(count) || count < 1) {
  console.error(`--nodes: expected a whole number >= 1, received ${JSON.stringify(arg)}`);
  Deno.exit(2);
}

const hex = (i: number, n: number) => (i * 2654435761 >>> 0).toString(16).padStart(8, "0").repeat(n / 8);

/** A Node as a cloud kubelet reports it (the shape of an AKS / kind node, values made unique per node). */
function kubeletNode(i: number): Record<string, unknown> {
  const name = `aks-pool${i % 4}-${hex(i, 8)}-vmss${String(i).padStart(6, "0")}`;
  const now = "2026-12-01T12:00:00Z";
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: `kubelet reports ${type} ${status} on ${name}`,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `${hex(i, 8)}-0000-4000-8000-${hex(i + 1, 16).slice(0, 12)}`,
      resourceVersion: String(100000 + i),
      creationTimestamp: now,
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        "kubernetes.azure.com/agentpool": `pool${i % 4}`,
        "kubernetes.azure.com/cluster": "MC_rg_cluster_westeurope",
        "kubernetes.azure.com/mode": "user",
        "kubernetes.azure.com/node-image-version": "AKSUbuntu-2204gen2containerd-202611.01.0",
        "node.kubernetes.io/instance-type": "Standard_D4s_v5",
        "topology.kubernetes.io/region": "westeurope",
        "topology.kubernetes.io/zone": `westeurope-${(i % 3) + 1}`,
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "csi.volume.kubernetes.io/nodeid": JSON.stringify({
          "disk.csi.azure.com": name,
          "file.csi.azure.com": name,
        }),
      },
    },
    spec: {
      taints: i % 10 === 0 ? [{ key: "dedicated", value: "batch", effect: "NoSchedule" }] : undefined,
      podCIDR: `10.${i >> 8}.${i & 255}.0/24`,
      providerID: `azure:///subscriptions/x/vm/${i}`,
    },
    status: {
      conditions: [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID"),
        condition("Ready", "True", "KubeletReady"),
        condition("NetworkUnavailable", "False", "RouteCreated"),
      ],
      addresses: [
        { type: "InternalIP", address: `10.224.${i >> 8}.${i & 255}` },
        { type: "Hostname", address: name },
      ],
      capacity: { cpu: "4", memory: "16364528Ki", pods: "110", "ephemeral-storage": "129886128Ki" },
      allocatable: { cpu: "3860m", memory: "12880368Ki", pods: "110", "ephemeral-storage": "119703055367" },
      nodeInfo: {
        machineID: hex(i, 32),
        systemUUID: hex(i + 7, 32),
        bootID: hex(i + 3, 32),
        kernelVersion: "5.15.0-1079-azure",
        osImage: "Ubuntu 22.04.5 LTS",
        containerRuntimeVersion: "containerd://1.7.25-1",
        kubeletVersion: "v1.34.4",
        kubeProxyVersion: "v1.34.4",
        operatingSystem: "linux",
        architecture: "amd64",
      },
      images: Array.from({ length: 50 }, (_, k) => ({
        names: [
          `mcr.microsoft.com/oss/kubernetes/image-${k}@sha256:${hex(k + 11, 64)}`,
          `mcr.microsoft.com/oss/kubernetes/image-${k}:v1.${k}.0`,
        ],
        sizeBytes: 10_000_000 + k * 1_000_003,
      })),
    },
  };
}

const MB = 2 ** 20;
const heapAfterGc = () => {
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
};

/** A Node as the watch delivers it: parsed from its own JSON, so no strings are shared with the generator. */
const fromWire = (i: number): Node => JSON.parse(JSON.stringify(kubeletNode(i)));
const sample = fromWire(1);
const fullBytes = new TextEncoder().encode(JSON.stringify(sample)).length;
const trimmedBytes = new TextEncoder().encode(JSON.stringify(nodeTransform(sample))).length;

const cache = new Map<string, Node>();
const before = heapAfterGc();
for (let i = 0; i < count; i++) {
  const n = nodeTransform(fromWire(i));
  cache.set(n.metadata.name!, n);
}
const trimmed = heapAfterGc() - before;
cache.clear();
const full = new Map<string, Node>();
const before2 = heapAfterGc();
for (let i = 0; i < count; i++) full.set(`n${i}`, fromWire(i));
const untrimmed = heapAfterGc() - before2;

console.log(JSON.stringify(
  {
    nodes: count,
    jsonBytesPerNode: { full: fullBytes, trimmed: trimmedBytes },
    heapMb: { trimmed: +(trimmed / MB).toFixed(2), untrimmed: +(untrimmed / MB).toFixed(2) },
    heapBytesPerNode: { trimmed: Math.round(trimmed / count), untrimmed: Math.round(untrimmed / count) },
  },
  null,
  2,
));
full.clear();
