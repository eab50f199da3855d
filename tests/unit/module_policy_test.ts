/**
 * Plugin modules named by the ConfigMap load only with the operator's consent: off by default, only
 * under the prefixes of --plugin-module-allow, URLs only with a matching integrity hash, data:/blob: never.
 */
import assert from "node:assert/strict";
import { ALLOW_FLAG, decideModule, isUnder, parseAllowList } from "../../core/plugin/module_policy.ts";
import { importProblem, integrityOf } from "../../core/plugin/module_source.ts";
import { loadPlugin } from "../../core/plugin/loader.ts";
import { PluginLoadError } from "../../core/plugin/errors.ts";

const allow = parseAllowList("/plugins/,https://example.com/zl/", "/app");
const decide = (specifier: string, integrity?: string, list = allow) =>
  decideModule("plugins[0] (mine)", specifier, integrity, list, "/app");
const problem = (d: ReturnType<typeof decide>) => d.ok ? "" : d.problem;

Deno.test("without --plugin-module-allow no module loads; the refusal names entry, specifier and flag", () => {
  for (const spec of ["/plugins/a.ts", "./a.ts", "https://example.com/zl/a.js", "file:///plugins/a.ts"]) {
    const d = decide(spec, "sha256-AAAA", []);
    assert.equal(d.ok, false, spec);
    assert.match(problem(d), /^plugins\[0\] \(mine\): module ".*" refused: loading plugin modules .* is off/);
    assert.ok(problem(d).includes(ALLOW_FLAG), "names the flag");
    assert.ok(problem(d).includes(JSON.stringify(spec)), "names the specifier");
  }
});

Deno.test("data: and blob: never load, whatever the allow-list says", () => {
  const everything = parseAllowList("/", "/");
  for (
    const spec of ["data:text/javascript,Deno.exit(1)", "DATA:application/typescript;base64,AA", "blob:x"]
  ) {
    const d = decide(spec, undefined, everything);
    assert.equal(d.ok, false);
    assert.match(problem(d), /modules never load \(the code would come from the ConfigMap itself\)/);
  }
  assert.match(
    problem(decide("npm:left-pad", undefined, everything)),
    /expected a file path or an http\(s\) URL/,
  );
});

Deno.test("files load only under an allowed directory; .. and look-alike prefixes do not escape", () => {
  assert.deepEqual(decide("/plugins/a.ts"), { ok: true, kind: "file", path: "/plugins/a.ts" });
  assert.deepEqual(decide("../plugins/sub/b.ts"), { ok: true, kind: "file", path: "/plugins/sub/b.ts" });
  for (
    const spec of ["/plugins/../etc/x.ts", "/plugins-evil/a.ts", "/tmp/a.ts", "./a.ts", "file:///tmp/a.ts"]
  ) {
    assert.match(
      problem(decide(spec)),
      /is under none of the directories --plugin-module-allow allows/,
      spec,
    );
  }
  assert.ok(isUnder("/plugins/a", "/plugins"));
  assert.ok(!isUnder("/pluginsx/a", "/plugins"));
});

Deno.test("URLs load only under an allowed prefix of the same origin and with a pinned integrity hash", () => {
  const hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  assert.equal(decide("https://example.com/zl/a.js", hash).ok, true);
  assert.match(problem(decide("https://example.com/zl/a.js")), /needs a pinned hash, expected integrity:/);
  assert.match(problem(decide("https://example.com/zl/a.js", "md5-xyz")), /integrity: expected "sha256-/);
  for (
    const spec of [
      "http://example.com/zl/a.js",
      "https://example.com.evil.io/zl/a.js",
      "https://example.com/other/a.js",
      "https://example.com:8443/zl/a.js",
    ]
  ) {
    assert.match(
      problem(decide(spec, hash)),
      /is under none of the prefixes --plugin-module-allow allows/,
      spec,
    );
  }
  assert.throws(() => parseAllowList("ftp://x/", "/"), /expected directory paths or http\(s\) URL prefixes/);
});

Deno.test("a URL module must be self-contained: any import is found with its position", () => {
  assert.equal(importProblem("export default { name: 'x' };"), undefined);
  assert.equal(importProblem("const important = 1; a.import = 2;"), undefined);
  assert.match(importProblem("export default 1;\nimport('https://x/y.js')")!, /line 2, column 1/);
  assert.ok(importProblem("import x from 'file:///etc/passwd'"));
  assert.ok(importProblem("const u = import.meta.url"));
});

/** A fetch that serves `body` for every URL and counts the requests. */
function servingFetch(body: string, status = 200) {
  const calls: string[] = [];
  const fn = ((input: URL | string) => {
    calls.push(String(input));
    return Promise.resolve(new Response(body, { status, headers: status === 302 ? { location: "/x" } : {} }));
  }) as typeof fetch;
  return { fn, calls };
}

const pluginSource = (marker: string) =>
  `globalThis[${JSON.stringify(marker)}] = true;\n` +
  `export default { name: "remote", kind: "strategy", version: "1", setup: () => ({ rank: () => [] }) };\n`;

function loadRemote(source: string, integrity: string, status = 200) {
  const remote = parseAllowList("https://plugins.test/zl/", "/");
  const d = decideModule("t", "https://plugins.test/zl/remote.js", integrity, remote, "/");
  if (!d.ok) throw new Error(d.problem);
  const server = servingFetch(source, status);
  return { server, result: loadPlugin("remote", d, { allow: remote, fetch: server.fn }) };
}

Deno.test("a URL module is fetched by us, verified, then evaluated from memory; a wrong hash evaluates nothing", async () => {
  const marker = `zl-marker-${crypto.randomUUID()}`;
  const source = pluginSource(marker);
  const wrong = await integrityOf(new TextEncoder().encode(source + " "));
  const bad = await loadRemote(source, wrong);
  await assert.rejects(bad.result, (e) => {
    assert.ok(e instanceof PluginLoadError);
    assert.match(
      e.message,
      /integrity mismatch: expected sha256-.*, the fetched bytes are sha256-.*nothing was evaluated/,
    );
    return true;
  });
  assert.equal((globalThis as Record<string, unknown>)[marker], undefined, "the module never ran");

  const good = await loadRemote(source, await integrityOf(new TextEncoder().encode(source)));
  assert.equal((await good.result).name, "remote");
  assert.equal((globalThis as Record<string, unknown>)[marker], true, "the verified bytes ran");
  assert.deepEqual(good.server.calls, ["https://plugins.test/zl/remote.js"]);
});

Deno.test("a URL module with imports, or behind a redirect, is refused before evaluation", async () => {
  const marker = `zl-marker-${crypto.randomUUID()}`;
  const withImport = `import "https://evil.test/x.js";\n${pluginSource(marker)}`;
  const imp = await loadRemote(withImport, await integrityOf(new TextEncoder().encode(withImport)));
  await assert.rejects(imp.result, /must be self-contained \(bundled\)/);
  const redirect = await loadRemote("", await integrityOf(new Uint8Array()), 302);
  await assert.rejects(redirect.result, /expected HTTP 200, received 302 \(redirect to \/x\)/);
  assert.equal((globalThis as Record<string, unknown>)[marker], undefined);
});

Deno.test("a symlink in an allowed directory that points outside it is refused on its real path", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "zl-policy-" }));
  await Deno.mkdir(`${root}/allowed`);
  const marker = `zl-marker-${crypto.randomUUID()}`;
  await Deno.writeTextFile(`${root}/outside.js`, pluginSource(marker));
  await Deno.symlink(`${root}/outside.js`, `${root}/allowed/link.js`);
  const list = parseAllowList(`${root}/allowed/`, "/");
  const d = decideModule("t", `${root}/allowed/link.js`, undefined, list, "/");
  assert.ok(d.ok, "the text alone is allowed");
  await assert.rejects(
    loadPlugin("remote", d, { allow: list }),
    /real path .*outside\.js .*under none of the allowed/,
  );
  assert.equal((globalThis as Record<string, unknown>)[marker], undefined);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a file module with an integrity hash is verified before it is imported", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "zl-policy-" }));
  const marker = `zl-marker-${crypto.randomUUID()}`;
  const source = pluginSource(marker);
  await Deno.writeTextFile(`${root}/p.js`, source);
  const list = parseAllowList(`${root}/`, "/");
  const wrong = decideModule(
    "t",
    `${root}/p.js`,
    await integrityOf(new TextEncoder().encode("other")),
    list,
    "/",
  );
  assert.ok(wrong.ok);
  await assert.rejects(loadPlugin("remote", wrong, { allow: list }), /integrity mismatch/);
  assert.equal((globalThis as Record<string, unknown>)[marker], undefined);
  const right = decideModule(
    "t",
    `${root}/p.js`,
    await integrityOf(new TextEncoder().encode(source)),
    list,
    "/",
  );
  assert.ok(right.ok);
  assert.equal((await loadPlugin("remote", right, { allow: list })).name, "remote");
  await Deno.remove(root, { recursive: true });
});
