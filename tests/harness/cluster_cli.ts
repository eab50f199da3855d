// `deno task cluster`: a local control plane for a person, until Ctrl-C.
import { parseArgs } from "node:util";
import { type Cluster, DEFAULT_CONTROLLERS, startCluster } from "./cluster.ts";
import { KubeletSimulator } from "./kubelet.ts";

const USAGE = `Usage: deno task cluster [--nodes N] [--controllers a,b,...] [--all-controllers] [--keep-data]

  --nodes N            register N simulated Ready nodes (zones zone-a, zone-b, ...); default 0
  --controllers LIST   kube-controller-manager controllers; default ${DEFAULT_CONTROLLERS.join(",")}
  --all-controllers    the default controllers plus deployment, replicaset and endpointslice
  --keep-data          keep the data dir (logs, etcd) after stopping`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "0" },
    controllers: { type: "string" },
    "all-controllers": { type: "boolean", default: false },
    "keep-data": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const nodes = Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 0) {
  console.error(`expected --nodes to be a whole number >= 0, found "${values.nodes}"\n\n${USAGE}`);
  Deno.exit(2);
}
const controllers = values.controllers?.split(",").map((c) => c.trim()).filter(Boolean) ??
  (values["all-controllers"]
    ? [...DEFAULT_CONTROLLERS, "deployment", "replicaset", "endpointslice"]
    : DEFAULT_CONTROLLERS);

const cluster: Cluster = await startCluster({ controllers, keepData: values["keep-data"] });
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the cluster...`);
  await cluster.stop();
  console.log(values["keep-data"] ? `stopped; data kept in ${cluster.dataDir}` : "stopped; data removed");
  Deno.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stop(signal));

const kubelet = new KubeletSimulator(cluster.kubeConfig());
for (let i = 0; i < nodes; i++) {
  await kubelet.createNode(`node-${i + 1}`, { zone: `zone-${String.fromCharCode(97 + (i % 26))}` });
}
await kubelet.start();

const kubectl = cluster.binaries.kubectl;
console.log(`
Kubernetes ${cluster.binaries.kubernetesVersion} is running (started in ${
  (cluster.startMs / 1000).toFixed(1)
} s).

  API server            ${cluster.server}
  kubeconfig (token)    ${cluster.kubeconfigPath}
  kubeconfig (cert)     ${cluster.certKubeconfigPath}
  CA                    ${cluster.caPath}
  controllers           ${cluster.controllers.join(",")}
  logs                  ${cluster.dataDir}/logs/
  simulated nodes       ${nodes} (terminating pods on them are finished like a kubelet would)

Try:
  ${kubectl} --kubeconfig ${cluster.kubeconfigPath} get ns
  export KUBECONFIG=${cluster.kubeconfigPath}

Press Ctrl-C to stop.`);

// A timer keeps the event loop alive until a signal handler exits the process.
setInterval(() => {}, 1 << 30);
