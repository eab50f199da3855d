/**
 * `deno task cluster --nodes 2 --all-controllers` runs real workloads: a Deployment made with kubectl gets Ready
 * pods with IPs on the simulated nodes, and after a minute of idling (longer than client-node's 30 s watch drop)
 * deleting it leaves no pod and no namespace Terminating.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ensureBinaries } from "../harness/k8s_binaries.ts";
import { sleep, waitFor } from "../harness/wait.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface PodList {
  items: {
    metadata: { name: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
  }[];
}

Deno.test({
  name:
    "deno task cluster --nodes 2 --all-controllers: kubectl create deployment gets 3 Ready pods; delete leaves nothing",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { kubectl } = await ensureBinaries();
  const cli = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}tests/harness/cluster_cli.ts`, "--nodes", "2", "--all-controllers"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = cli.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    while (!out.includes("Press Ctrl-C")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`expected deno task cluster to print its banner, it exited:\n${out}`);
      out += value;
    }
    const kubeconfig = /kubeconfig \(token\)\s+(\S+)/.exec(out)?.[1];
    assert.ok(kubeconfig, `expected the banner to name the kubeconfig:\n${out}`);
    const k = async (...args: string[]) => {
      const r = await new Deno.Command(kubectl, { args: ["--kubeconfig", kubeconfig, ...args] }).output();
      const text = new TextDecoder().decode(r.stdout);
      if (!r.success) throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
      return text;
    };
    const pods = async (ns: string) => JSON.parse(await k("get", "pods", "-n", ns, "-o", "json")) as PodList;

    await k("create", "namespace", "apps");
    // The ServiceAccount admission plugin rejects pods until the serviceaccount controller made `default`.
    await waitFor("ServiceAccount apps/default", () => k("get", "serviceaccount", "default", "-n", "apps"));
    await k("create", "deployment", "web", "--image=x", "--replicas=3", "-n", "apps");
    const ready = await waitFor("3 Ready pods with IPs", async () => {
      const list = await pods("apps");
      const ok = list.items.filter((p) =>
        p.status.phase === "Running" && p.status.podIP &&
        p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
      );
      return ok.length === 3 ? ok : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    assert.equal(new Set(ready.map((p) => p.status.podIP)).size, 3, "distinct pod IPs");
    assert.deepEqual(
      [...new Set(ready.map((p) => p.spec.nodeName))].sort(),
      ["node-1", "node-2"],
      "bound to both simulated nodes",
    );

    // Idle for longer than the watch drop that made the old simulator deaf.
    await sleep(60_000);
    await k("delete", "deployment", "web", "-n", "apps", "--wait=false");
    await waitFor("every pod of the Deployment finished", async () => {
      const list = await pods("apps");
      return list.items.length === 0 || undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    await k("delete", "namespace", "apps", "--wait=false");
    await waitFor("namespace apps gone (not Terminating)", async () => {
      const r = await new Deno.Command(kubectl, {
        args: ["--kubeconfig", kubeconfig, "get", "namespace", "apps"],
      })
        .output();
      return !r.success || undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
  } finally {
    cli.kill("SIGTERM");
    await reader.cancel().catch(() => {});
    await cli.status;
  }
});
