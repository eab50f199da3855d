/**
 * zen-lead runs with explicit Deno permissions, not -A: the controller is started exactly as
 * `deno task start` starts it (flags read from deno.json) against a real control plane, loads a plugin the
 * operator allowed, and that plugin cannot read /etc/shadow, spawn a shell, write a file or read other env
 * vars. The controller itself still routes, starts its gRPC prober, and leaves deno.lock as it was.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { ConfigMaps } from "../../core/kube/paths.ts";
import { integrityOf } from "../../core/plugin/module_source.ts";
import { startZenLeadProcess, type ZenLeadProcess } from "../harness/zen_lead_process.ts";
import { CONTROLLER_NS, type E2E, e2eTest, ROOT, startE2E } from "./_env.ts";
import { leaderIs, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";

let env: E2E;
let zl: ZenLeadProcess;
let ns = "";
let lockBefore = "";
const MARKER = `/tmp/zl-permission-marker-${crypto.randomUUID()}`;

const PROBE_PLUGIN = `
const report = (probe, fn) => {
  let outcome;
  try { outcome = fn() ?? "allowed"; } catch (e) { outcome = e.name; }
  console.error(JSON.stringify({ probe, outcome }));
};
report("read /etc/shadow", () => void Deno.readTextFileSync("/etc/shadow"));
report("spawn a shell", () => void new Deno.Command("sh", { args: ["-c", "true"] }).outputSync());
report("write a file", () => void Deno.writeTextFileSync(${JSON.stringify(MARKER)}, "x"));
report("read SECRET_TOKEN", () => Deno.env.get("SECRET_TOKEN") === undefined ? "hidden" : "visible");
export default {
  name: "probe",
  kind: "strategy",
  version: "1",
  setup: () => ({ rank: ({ candidates }) => candidates.map((c) => c.pod.uid) }),
};
`;

e2eTest("setup: the controller as `deno task start` runs it, under the zen-lead ServiceAccount", async () => {
  lockBefore = await integrityOf(await Deno.readFile(`${ROOT}deno.lock`));
  env = await startE2E();
  zl = await startZenLeadProcess({
    kubeconfig: await Deno.readTextFile(env.saKubeconfig),
    args: [
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      "--leader-elect=false",
      "--plugin-module-allow=$HOME/.config/zen-lead/plugins/",
    ],
    env: { POD_NAMESPACE: CONTROLLER_NS, SECRET_TOKEN: "s3cr3t" },
    files: { ".config/zen-lead/plugins/probe.js": PROBE_PLUGIN },
  });
  await zl.waitForLine(/caches synced/);
});

e2eTest(
  "an allowed plugin cannot read /etc/shadow, spawn a shell, write a file or read other env vars",
  async () => {
    if (Deno.uid() === 0) {
      // The test itself (-A, root) can: so a denial below is the permission set's doing.
      assert.ok((await Deno.readTextFile("/etc/shadow")).length > 0);
    }
    await env.client.create(ConfigMaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "zen-lead-config", namespace: CONTROLLER_NS },
      data: {
        "config.yaml": stringify({
          plugins: [{ name: "probe", module: `${zl.home}/.config/zen-lead/plugins/probe.js` }],
        }),
      },
    });
    await zl.waitForLine(/configuration applied.*added strategy probe/);
    const outcome = (probe: string) =>
      zl.lines.map((l) => {
        try {
          return JSON.parse(l) as { probe?: string; outcome?: string };
        } catch {
          return {};
        }
      }).find((r) => r.probe === probe)?.outcome;
    assert.equal(outcome("read /etc/shadow"), "NotCapable");
    assert.equal(outcome("spawn a shell"), "NotCapable");
    assert.equal(outcome("write a file"), "NotCapable");
    assert.equal(outcome("read SECRET_TOKEN"), "hidden");
    assert.equal(await Deno.stat(MARKER).then(() => true, () => false), false);
  },
);

e2eTest(
  "under these permissions the controller routes and starts its own gRPC prober; deno.lock unchanged",
  async () => {
    ns = await env.cluster.newNamespace("perms");
    await agedPods(env.kubelet, ns, ["web-0", "web-1"]);
    await createOptedIn(env.client, ns, "web");
    await leaderIs(env.client, ns, "web-leader", "web-0");
    await createOptedIn(env.client, ns, "rpc", {
      selector: { app: "web" },
      annotations: { "zen-lead.io/health-check": "grpc:9090" },
    });
    const prober = await waitFor("the gRPC prober child process", async () => {
      const children = (await Deno.readTextFile(`/proc/${zl.pid}/task/${zl.pid}/children`)).trim().split(
        /\s+/,
      );
      for (const pid of children.filter(Boolean)) {
        const cmd = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
        if (cmd.includes("grpc_prober_main")) return cmd.split("\0").join(" ");
      }
      return undefined;
    });
    assert.match(prober, /--allow-net/);
    assert.doesNotMatch(prober, / -A | --allow-all /);
    assert.ok(
      !zl.lines.some((l) => /NotCapable|Requires .* access/.test(l) && !l.includes('"probe"')),
      zl.lines.join("\n"),
    );
    assert.equal(await integrityOf(await Deno.readFile(`${ROOT}deno.lock`)), lockBefore);
  },
);

e2eTest("teardown", async () => {
  await zl?.stop();
  await env?.stop();
});
