/**
 * `deno task demo`: zen-lead's main job on a local control plane. Starts the cluster, a sample workload of three
 * pods behind an opted-in Service and the controller; prints the leader, fails it, prints the new leader and the
 * measured failover time, then stays up with its addresses printed until Ctrl-C (`--once` exits instead).
 * The controller is a child process with exactly the permissions of `deno task start`; the harness around it
 * (etcd, kube-apiserver, the pod simulator) needs more, and has them.
 */
import { EndpointSlices, Services } from "../../core/kube/paths.ts";
import type { EndpointSlice, Service } from "../../core/kube/types.ts";
import { startZenLeadProcess } from "./zen_lead_process.ts";
import { freePorts } from "./ports.ts";
import { kernelParts } from "../../app/start.ts";
import { runCli } from "../../app/cli/main.ts";
import { startSimulatedCluster } from "./simulated_cluster.ts";

const once = Deno.args.includes("--once");
const say = (s: string) => console.log(`[demo] ${s}`);

if (Deno.args.includes("--dataplane")) {
  // The same story through kube-proxy, with a client's answers printed (tests/dataplane/demo.ts).
  const { runDataplaneDemo } = await import("../dataplane/demo.ts");
  Deno.exit(await runDataplaneDemo({ once }));
}

function freePortOr(preferred: number): number {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: preferred }).close();
    return preferred;
  } catch {
    return freePorts(1)[0];
  }
}

say("starting a local Kubernetes control plane (first run builds it from the Go module proxy)...");
const { cluster, kubelet, client } = await startSimulatedCluster();
const ns = await cluster.newNamespace("demo");

say(`creating 3 pods and the opted-in Service ${ns}/web`);
for (let i = 0; i < 3; i++) {
  await kubelet.createPod(ns, {
    name: `web-${i}`,
    labels: { app: "web" },
    ports: [{ name: "http", containerPort: 8080 }],
  });
  // Creation timestamps have one-second resolution: space the pods so "oldest" is unambiguous.
  if (i < 2) await new Promise((r) => setTimeout(r, 1001));
}
await client.create<Service>(Services, {
  metadata: { name: "web", namespace: ns, annotations: { "zen-lead.io/enabled": "true" } },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
});

const metricsPort = freePortOr(8080);
const healthPort = freePortOr(8081);
const uiPort = freePortOr(8082);
const zl = await startZenLeadProcess({
  kubeconfig: await Deno.readTextFile(cluster.kubeconfigPath),
  args: [
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    `--ui-bind-address=127.0.0.1:${uiPort}`,
    "--leader-elect=false",
    "--log-level=warn",
  ],
  env: { POD_NAMESPACE: "default" },
});

async function leader(): Promise<{ name: string; ip: string } | undefined> {
  try {
    const s = await client.get<EndpointSlice>(EndpointSlices, ns, "web-leader");
    const e = s.endpoints?.[0];
    return e ? { name: e.targetRef?.name ?? "", ip: e.addresses[0] } : undefined;
  } catch {
    return undefined;
  }
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error("timed out");
}

const first = await until(leader);
say(`leader: pod ${first.name} (${first.ip}) behind Service ${ns}/web-leader`);

say(`failing the leader: pod ${first.name} loses readiness`);
const t0 = performance.now();
await kubelet.setPodReady(ns, first.name, false);
const acked = performance.now();
const next = await until(async () => {
  const l = await leader();
  return l && l.name !== first.name ? l : undefined;
});
const seen = performance.now();
say(`new leader: pod ${next.name} (${next.ip})`);
say(
  `failover: ${(seen - acked).toFixed(1)} ms from the acknowledged status write to the new EndpointSlice ` +
    `(${(seen - t0).toFixed(1)} ms including the write itself)`,
);

// Why web-1 leads now, as `zen-lead explain` (and `kubectl zen-lead explain`) tells it.
const explainArgs = [
  "explain",
  `${ns}/web`,
  "--kubeconfig",
  cluster.kubeconfigPath,
  "--status-url",
  `http://127.0.0.1:${metricsPort}/status`,
];
say(`zen-lead ${explainArgs.join(" ")}:`);
let explained = "";
await runCli(explainArgs, kernelParts(), {
  out: (t) => explained += t,
  err: (t) => explained += t,
  env: {},
});
for (const line of explained.trimEnd().split("\n")) console.log(`[demo]   ${line}`);
say(`status page: http://127.0.0.1:${uiPort}/ (live; the failover above is on it)`);

if (once) {
  await zl.stop();
  await kubelet.stop();
  client.close();
  await cluster.stop();
  Deno.exit(0);
}

const kubectl = `${cluster.binaries.kubectl} --kubeconfig ${cluster.kubeconfigPath}`;
say("zen-lead keeps running:");
say(`  metrics:    http://127.0.0.1:${metricsPort}/metrics`);
say(`  health:     http://127.0.0.1:${healthPort}/healthz and /readyz`);
say(`  status:     http://127.0.0.1:${uiPort}/ (the status page; JSON at /api/status)`);
say(`  permissions: those of \`deno task start\` (deno.json), not -A`);
say(`  kubeconfig: ${cluster.kubeconfigPath}`);
say(`  try:        ${kubectl} -n ${ns} get endpointslice web-leader -o yaml`);
say(`              ${kubectl} -n ${ns} delete pod ${next.name}   # and watch the leader move`);
say(
  `              deno task explain ${ns}/web --kubeconfig ${cluster.kubeconfigPath} --status-url http://127.0.0.1:${metricsPort}/status`,
);
say("press Ctrl-C to stop");

await new Promise<void>((resolve) => {
  Deno.addSignalListener("SIGINT", () => resolve());
  Deno.addSignalListener("SIGTERM", () => resolve());
});
say("stopping");
await zl.stop();
await kubelet.stop();
client.close();
await cluster.stop();
Deno.exit(0);
