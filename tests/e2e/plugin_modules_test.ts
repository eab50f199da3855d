/**
 * Code from the ConfigMap runs only with the operator's consent, on a real control plane: an http URL
 * outside the allowed prefix or without/with a wrong hash, a file outside the allowed directory, a data: URL and
 * a version refused for another reason each run nothing (their marker file is never written) and leave an
 * InvalidConfiguration Event naming the entry, the specifier and the flag. Allowed modules do run (the markers
 * prove the check can fail), and deno.lock is not rewritten by any of it.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { integrityOf } from "../../core/plugin/module_source.ts";
import type { ZenLeadHandle } from "../../app/start.ts";
import { CONTROLLER_NS, type E2E, e2eTest, ROOT, setControllerConfig, startE2E } from "./_env.ts";
import { eventOf, waitFor } from "./_reads.ts";

let env: E2E;
let h: ZenLeadHandle;
let dir = "";
let server: Deno.HttpServer<Deno.NetAddr>;
let base = "";
const requests: string[] = [];
const served = new Map<string, string>();
let lockBefore = "";

/** A plugin module that writes `marker` the moment it is evaluated. */
function markerModule(name: string, marker: string): string {
  return `Deno.writeTextFileSync(${JSON.stringify(marker)}, "ran");\n` +
    `export default { name: ${JSON.stringify(name)}, kind: "strategy", version: "1", ` +
    `setup: () => ({ rank: ({ candidates }) => candidates.map((c) => c.pod.uid) }) };\n`;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Writes the controller's ConfigMap: `config` as YAML (a string as it is). */
function setConfig(config: unknown): Promise<void> {
  return setControllerConfig(env.client, typeof config === "string" ? config : stringify(config));
}

/** The InvalidConfiguration Event whose message contains `needle`. */
function refusal(needle: string) {
  return eventOf(env.client, CONTROLLER_NS, "zen-lead-config", "InvalidConfiguration", needle);
}

async function lockHash(): Promise<string> {
  return await integrityOf(await Deno.readFile(`${ROOT}deno.lock`));
}

e2eTest(
  "setup: controller allowed one directory and one URL prefix; a local server serves modules",
  async () => {
    lockBefore = await lockHash();
    dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "zl-modules-" }));
    await Deno.mkdir(`${dir}/allowed`);
    await Deno.mkdir(`${dir}/outside`);
    server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const body = served.get(path);
      return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
    });
    base = `http://127.0.0.1:${server.addr.port}`;
    env = await startE2E();
    h = await env.startController([`--plugin-module-allow=${dir}/allowed/,${base}/zl/`]);
    await h.activated;
  },
);

e2eTest(
  "an http URL outside the allowed prefix, or without a hash, is never fetched; a wrong hash never runs",
  async () => {
    const marker = `${dir}/http.marker`;
    const source = markerModule("remote", marker);
    served.set("/evil/remote.js", source);
    served.set("/zl/remote.js", source);
    const hash = await integrityOf(new TextEncoder().encode(source));

    await setConfig({ plugins: [{ name: "remote", module: `${base}/evil/remote.js`, integrity: hash }] });
    let ev = await refusal(`${base}/evil/remote.js`);
    assert.match(
      ev.message,
      /plugins\[0\] \(remote\): module ".*\/evil\/remote\.js" refused: .*--plugin-module-allow/,
    );

    await setConfig({ plugins: [{ name: "remote", module: `${base}/zl/remote.js` }] });
    ev = await refusal("needs a pinned hash");
    assert.match(ev.message, /plugins\[0\] \(remote\): module ".*\/zl\/remote\.js" refused/);
    assert.deepEqual(requests, [], "neither was fetched");

    const wrong = await integrityOf(new TextEncoder().encode(source + "\n"));
    await setConfig({ plugins: [{ name: "remote", module: `${base}/zl/remote.js`, integrity: wrong }] });
    ev = await refusal("integrity mismatch");
    assert.match(ev.message, /plugins\[0\] \(remote\)/);
    assert.deepEqual(requests, ["/zl/remote.js"], "fetched once, by us");
    assert.equal(await exists(marker), false, "the mismatched bytes never ran");
  },
);

e2eTest("a file outside the allowed directory and a data: URL run nothing", async () => {
  const fileMarker = `${dir}/file.marker`;
  await Deno.writeTextFile(`${dir}/outside/plugin.js`, markerModule("far", fileMarker));
  await setConfig({ plugins: [{ name: "far", module: `${dir}/outside/plugin.js` }] });
  const ev = await refusal(`${dir}/outside/plugin.js`);
  assert.match(
    ev.message,
    /plugins\[0\] \(far\): .* is under none of the directories --plugin-module-allow allows/,
  );

  const dataMarker = `${dir}/data.marker`;
  const data = `data:text/javascript,${encodeURIComponent(markerModule("inline", dataMarker))}`;
  await setConfig({ plugins: [{ name: "inline", module: data }] });
  const dev = await refusal("data: modules never load");
  assert.match(dev.message, /plugins\[0\] \(inline\): module "data:text\/javascript,/);
  assert.equal(await exists(fileMarker), false);
  assert.equal(await exists(dataMarker), false);
});

e2eTest("an allowed module in a version refused for another reason is never imported", async () => {
  const marker = `${dir}/refused.marker`;
  await Deno.writeTextFile(`${dir}/allowed/refused.js`, markerModule("mine", marker));
  await setConfig({
    defaults: { strategy: "no-such-strategy" },
    plugins: [{ name: "mine", module: `${dir}/allowed/refused.js` }],
  });
  await refusal("no-such-strategy");
  await setConfig({
    plugins: [
      { name: "mine", module: `${dir}/allowed/refused.js` },
      { name: "inline2", module: "data:text/javascript,export default 1" },
    ],
  });
  await refusal("plugins[1] (inline2)");
  assert.equal(await exists(marker), false);
});

e2eTest(
  "control: allowed modules do run (a file, and a URL whose bytes match the hash); deno.lock unchanged",
  async () => {
    const fileMarker = `${dir}/allowed.marker`;
    await Deno.writeTextFile(`${dir}/allowed/good.js`, markerModule("good", fileMarker));
    const urlMarker = `${dir}/url.marker`;
    const source = markerModule("remote-ok", urlMarker);
    served.set("/zl/ok.js", source);
    await setConfig({
      plugins: [
        { name: "good", module: `${dir}/allowed/good.js` },
        {
          name: "remote-ok",
          module: `${base}/zl/ok.js`,
          integrity: await integrityOf(new TextEncoder().encode(source)),
        },
      ],
    });
    await waitFor("both plugins registered", () => {
      const names = h.kernel.names("strategy");
      return Promise.resolve(names.includes("good") && names.includes("remote-ok") || undefined);
    });
    assert.equal(await exists(fileMarker), true);
    assert.equal(await exists(urlMarker), true);
    assert.equal(await lockHash(), lockBefore, "deno.lock is never written at run time");
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
  await server?.shutdown();
  if (dir) await Deno.remove(dir, { recursive: true });
});
