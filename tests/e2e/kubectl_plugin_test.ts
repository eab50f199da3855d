/**
 * The kubectl plugin through the real kubectl of the harness: `deno task kubectl-plugin DIR` installs
 * `kubectl-zen_lead`, kubectl finds it on PATH, and `kubectl zen-lead explain|status` answer from the control
 * plane. The krew manifest is installed with the real krew (built from the Go module proxy, cached) from a local
 * archive, and the plugin krew installed runs too.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import type { ZenLeadHandle } from "../../app/start.ts";
import { type E2E, e2eTest, ROOT, startE2EWithController } from "./_env.ts";
import { leaderIs } from "./_reads.ts";
import { createOptedIn } from "./_fixtures.ts";
import { agedPods } from "./_fixtures.ts";

let env: E2E;
let h: ZenLeadHandle;
let ns: string;
let dir: string;

async function run(cmd: string, args: string[], extraEnv: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    env: { ...extraEnv },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const pathWith = (d: string) => `${d}:${Deno.env.get("PATH")}`;

e2eTest(
  "setup: control plane, controller, a Service with a leader, the plugin installed by its task",
  async () => {
    ({ env, h } = await startE2EWithController());
    ns = await env.cluster.newNamespace("plugin");
    await agedPods(env.kubelet, ns, ["web-0", "web-1"]);
    await createOptedIn(env.client, ns, "web");
    await leaderIs(env.client, ns, "web-leader", "web-0");
    dir = await Deno.makeTempDir({ prefix: "zen-lead-plugin-" });
    const r = await run(Deno.execPath(), ["task", "-q", "kubectl-plugin", dir], {
      PATH: Deno.env.get("PATH")!,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed .*kubectl-zen_lead/);
  },
);

e2eTest("kubectl finds kubectl-zen_lead on PATH; kubectl zen-lead explain and status answer", async () => {
  const kubectl = env.cluster.binaries.kubectl;
  const e = { PATH: pathWith(dir), HOME: Deno.env.get("HOME") ?? "/tmp" };
  const list = await run(kubectl, ["plugin", "list"], e);
  assert.match(list.stdout, new RegExp(`${dir}/kubectl-zen_lead`), list.stdout + list.stderr);

  const kc = ["--kubeconfig", env.cluster.kubeconfigPath];
  const status = ["--status-url", `http://127.0.0.1:${h.metricsPort}/status`];
  const explain = await run(kubectl, ["zen-lead", "explain", `${ns}/web`, ...kc, ...status], e);
  assert.equal(explain.code, 0, explain.stderr);
  assert.match(explain.stdout, /^ {2}web-0 +Running .* leader, kept$/m);
  assert.match(explain.stdout, /^ {2}web-1 +Running .* standby: ranked 2$/m);

  await env.kubelet.setPodReady(ns, "web-0", false);
  await leaderIs(env.client, ns, "web-leader", "web-1");
  // KUBECONFIG from the environment, as kubectl's own users set it.
  const st = await run(kubectl, ["zen-lead", "status", "-n", ns, "-o", "yaml", ...status], {
    ...e,
    KUBECONFIG: env.cluster.kubeconfigPath,
  });
  assert.equal(st.code, 0, st.stderr);
  const report = parse(st.stdout);
  const row = report.services.find((s: { name: string }) => s.name === "web");
  assert.equal(row.leader, "web-1");
  assert.equal(row.lastFailover.reason, "notReady");
  assert.equal(typeof row.lastFailover.latencyMs, "number");

  const bare = await run(kubectl, ["zen-lead"], e);
  assert.equal(bare.code, 0, bare.stderr);
  assert.match(bare.stdout, /kubectl zen-lead explain/);
  const bad = await run(kubectl, ["zen-lead", "explain", "no-slash-and", "extra"], e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected NAMESPACE\/SERVICE/);
  const controllerFlag = await run(kubectl, ["zen-lead", "--qps=5"], e);
  assert.equal(controllerFlag.code, 2, "the plugin never starts the controller");
  assert.match(controllerFlag.stderr, /unknown command "--qps=5"; expected one of explain, status, help/);
  const missing = await run(kubectl, ["zen-lead", "explain", `${ns}/nope`, ...kc], e);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`Service ${ns}/nope not found`));
  const badFlag = await run(kubectl, ["zen-lead", "status", "-o", "xml", ...kc], e);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /expected one of text, json, yaml, received "xml"/);
});

const KREW = `${Deno.env.get("HOME")}/.cache/zen-lead/krew/bin/krew`;
const krewBuild = await run("bash", [ROOT + "kubectl-plugin/build-krew.sh"], {
  PATH: Deno.env.get("PATH")!,
  HOME: Deno.env.get("HOME") ?? "/tmp",
}).catch((e) => ({ code: 1, stdout: "", stderr: String(e) }));
if (krewBuild.code !== 0) {
  console.log(`krew could not be built; the krew test is skipped: ${krewBuild.stderr}`);
}

e2eTest("the krew manifest from kubectl-plugin/krew.ts installs with the real krew, and that plugin runs", {
  ignore: krewBuild.code !== 0,
}, async () => {
  const work = await Deno.makeTempDir({ prefix: "zen-lead-krew-" });
  await Deno.mkdir(`${work}/pkg`);
  await Deno.copyFile(`${dir}/kubectl-zen_lead`, `${work}/pkg/kubectl-zen_lead`);
  await Deno.writeTextFile(`${work}/pkg/LICENSE`, "see the zen-lead repository\n");
  const archive = `${work}/zen-lead-linux-amd64.tar.gz`;
  const tar = await run("tar", ["-C", `${work}/pkg`, "-czf", archive, "kubectl-zen_lead", "LICENSE"], {
    PATH: Deno.env.get("PATH")!,
  });
  assert.equal(tar.code, 0, tar.stderr);
  const gen = await run(Deno.execPath(), [
    "run",
    "-A",
    "--quiet",
    ROOT + "kubectl-plugin/krew.ts",
    "v0.1.0",
    "https://github.com/kube-zen/zen-lead/releases/download/v0.1.0",
    `linux-amd64=${archive}`,
  ], { PATH: Deno.env.get("PATH")!, HOME: Deno.env.get("HOME") ?? "/tmp" });
  assert.equal(gen.code, 0, gen.stderr);
  await Deno.writeTextFile(`${work}/zen-lead.yaml`, gen.stdout);

  const krewRoot = `${work}/krew`;
  const e = {
    PATH: `${krewRoot}/bin:${Deno.env.get("PATH")}`,
    HOME: Deno.env.get("HOME") ?? "/tmp",
    KREW_ROOT: krewRoot,
    // krew must not reach out for its index: the archive is local, the manifest too.
    KREW_NO_UPGRADE_CHECK: "1",
  };
  const install = await run(
    KREW,
    ["install", `--manifest=${work}/zen-lead.yaml`, `--archive=${archive}`],
    e,
  );
  assert.equal(install.code, 0, install.stdout + install.stderr);
  const status = ["status", "-n", ns, "--kubeconfig", env.cluster.kubeconfigPath];
  const st = await run(`${krewRoot}/bin/kubectl-zen_lead`, status, e);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`^${ns} +web +web-1 `, "m"));
  const viaKubectl = await run(env.cluster.binaries.kubectl, ["zen-lead", ...status], e);
  assert.equal(viaKubectl.code, 0, viaKubectl.stderr);
  assert.match(viaKubectl.stdout, /web-1/);
  await Deno.remove(work, { recursive: true });
});

e2eTest("teardown", async () => {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await env.stop();
});
