/** The image's Deno parts: the runtime binary, the source, and the frozen dependency cache of main.ts's graph. */
import { join } from "node:path";
import { type DenoInfo, isRuntimeIrrelevant, lockChanges, runtimeImports } from "./graph.ts";
import type { lockedNpmPackages } from "./sbom.ts";
import { ARCH, CACHE, exists, log, ROOT, run, walkFiles } from "./host.ts";

/** What of the repository runs in the controller (tests, bench and examples stay out). */
const SOURCE_PATHS = [
  "main.ts",
  "mod.ts",
  "deno.json",
  "deno.lock",
  "app",
  "core",
  "plugins",
  "strategies",
  "health",
];

/** The Deno runtime out of the npm package @deno/linux-<arch>-glibc at this Deno's version (npm checks its integrity). */
export async function denoRuntime(version: string): Promise<string> {
  const dir = join(CACHE, `deno-${version}`);
  const bin = join(dir, "package", "deno");
  if (await exists(bin)) return bin;
  await Deno.mkdir(dir, { recursive: true });
  log(`npm pack @deno/${ARCH.npm}@${version}`);
  const name = (await run("npm", ["pack", "--silent", `@deno/${ARCH.npm}@${version}`], { cwd: dir }))
    .trim();
  await run("tar", ["-xzf", join(dir, name), "-C", dir]);
  await Deno.remove(join(dir, name));
  const got = (await run(bin, ["--version"])).split("\n")[0];
  if (!got.startsWith(`deno ${version} `)) throw new Error(`${bin}: expected deno ${version}, found ${got}`);
  return bin;
}

/** Copies the tracked source files (no tests) to `dest`. */
export async function copySource(dest: string): Promise<void> {
  const files = (await run("git", ["ls-files", "-z", "--", ...SOURCE_PATHS])).split("\0").filter((f) => f);
  const kept = files.filter((f) => !f.endsWith("_test.ts"));
  if (!kept.includes("main.ts")) throw new Error("git ls-files found no main.ts: run from a git checkout");
  await Deno.mkdir(dest, { recursive: true });
  await run("cp", ["--parents", ...kept, dest]);
}

/**
 * The image's dependency cache: only main.ts's graph. The image gets its own deno.json without test-only
 * imports, `deno install` prunes its deno.lock copy to match (checked to only drop entries), and a run with
 * `--cached-only --frozen` proves the graph, lazily imported parts included, loads from the cache alone.
 */
export async function frozenCache(
  app: string,
  denoDir: string,
  denoJson: Record<string, unknown>,
): Promise<void> {
  const hostEnv = { DENO_NO_UPDATE_CHECK: "1" };
  const info: DenoInfo = JSON.parse(
    await run(Deno.execPath(), ["info", "--json", "--frozen", "main.ts"], { cwd: app, env: hostEnv }),
  );
  const imports = runtimeImports(denoJson.imports as Record<string, string>, info);
  const dropped = Object.keys(denoJson.imports as object).filter((k) => !(k in imports));
  log(`dependency cache: main.ts's graph without ${dropped.join(", ") || "nothing"}`);
  const { name, version, exports, compilerOptions } = denoJson;
  await Deno.writeTextFile(
    join(app, "deno.json"),
    JSON.stringify({ name, version, exports, imports, compilerOptions }, null, 2) + "\n",
  );
  const env = { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" };
  await run(Deno.execPath(), ["install", "--quiet", "--entrypoint", "main.ts"], { cwd: app, env });
  const changes = lockChanges(
    JSON.parse(await Deno.readTextFile(join(ROOT, "deno.lock"))),
    JSON.parse(await Deno.readTextFile(join(app, "deno.lock"))),
  );
  if (changes.length > 0) {
    throw new Error(`the image's deno.lock must only drop entries, but changed ${changes}`);
  }
  let bytes = 0;
  for await (const f of walkFiles(join(denoDir, "npm"))) {
    if (!isRuntimeIrrelevant(f)) continue;
    bytes += (await Deno.lstat(f)).size;
    await Deno.remove(f);
  }
  log(`dependency cache: dropped ${(bytes / 1e6).toFixed(1)} MB of .d.ts/.map files`);
  const lazy = [
    "./main.ts",
    "@kubernetes/client-node",
    "./plugins/azure-servicegateway/create.ts",
    "@grpc/grpc-js",
  ];
  const code = lazy.map((m) => `await import(${JSON.stringify(m)});`).join(" ");
  await run(Deno.execPath(), ["eval", "--cached-only", "--frozen", "-A", code], { cwd: app, env });
}

/** The locked npm packages that `deno cache` actually put into the image's DENO_DIR. */
export async function presentIn(denoDir: string, npm: Awaited<ReturnType<typeof lockedNpmPackages>>) {
  const kept = [];
  for (const p of npm) {
    if (await exists(join(denoDir, "npm", "registry.npmjs.org", p.name, p.version))) kept.push(p);
  }
  return kept;
}
