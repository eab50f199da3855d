/**
 * `deno task image`: builds `localhost/zen-lead:<version>` without pulling any base image. The root filesystem
 * is assembled here from pinned parts: glibc/libgcc files out of the Debian packages in debian-packages.txt,
 * the Deno runtime from the npm package @deno/linux-<arch>-glibc at the running Deno's version, a frozen
 * dependency cache of main.ts's module graph only (no test-only packages), and the source. With DENORT_BIN set,
 * the image carries the `deno compile` binary instead of the runtime, cache and source. buildah commits it
 * `FROM scratch`, USER 65532:65532, no shell. An SBOM (CycloneDX, and SPDX from syft when built) lands in
 * dist/image/.
 *
 * Usage: deno task image [--no-sbom-syft]
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileArgs, IMAGE_PATHS, sourceEntrypoint } from "./entrypoint.ts";
import { cycloneDx, DEBIAN_RELEASE, type DebianPackage, lockedNpmPackages } from "./sbom.ts";
import { toolPaths } from "../../tests/harness/tools.ts";
import { type DenoInfo, isRuntimeIrrelevant, lockChanges, runtimeImports } from "./graph.ts";

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const OUT = join(ROOT, "dist", "image");
const CACHE = join(Deno.env.get("HOME") ?? "/root", ".cache", "zen-lead", "image");
/** This machine's architecture in the names Debian, npm and glibc use (the image is built for the host's). */
const ARCH = Deno.build.arch === "aarch64"
  ? { deb: "arm64", npm: "linux-arm64-glibc", triplet: "aarch64-linux-gnu", loader: "ld-linux-aarch64.so.1" }
  : { deb: "amd64", npm: "linux-x64-glibc", triplet: "x86_64-linux-gnu", loader: "ld-linux-x86-64.so.2" };
/** The files of the Debian packages that the Deno runtime links against (`ldd deno`). */
const RUNTIME_FILES = [
  ARCH.deb === "amd64" ? `lib64/${ARCH.loader}` : `lib/${ARCH.loader}`,
  ...[ARCH.loader, "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libgcc_s.so.1"]
    .map((f) => `lib/${ARCH.triplet}/${f}`),
];
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
const UID = 65532;

function log(msg: string): void {
  console.error(`[image] ${msg}`);
}

async function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(cmd, { args, cwd: opts.cwd ?? ROOT, env: opts.env, stdin: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${
        new TextDecoder().decode(out.stderr).slice(-4000)
      }`,
    );
  }
  return text;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** podman, buildah and runc from Debian when missing (a fresh machine). */
async function ensureContainerTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of ["buildah", "podman", "runc"]) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
      .output();
    if (!found.success) missing.push(tool);
  }
  if (missing.length === 0) return;
  log(`installing ${missing.join(", ")} from Debian`);
  const apt = ["-o", "DPkg::Lock::Timeout=600"];
  await run("apt-get", [...apt, "update", "-qq"]);
  await run("apt-get", [...apt, "install", "-y", "-qq", ...missing], {
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
}

async function pinnedDebianPackages(): Promise<{ name: string; version: string }[]> {
  const text = await Deno.readTextFile(join(ROOT, "deploy", "image", "debian-packages.txt"));
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((l) => {
    const [name, version] = l.split("=");
    if (!name || !version) {
      throw new Error(`debian-packages.txt: expected "name=version", found ${JSON.stringify(l)}`);
    }
    return { name, version };
  });
}

/** Downloads each pinned .deb once into the cache (apt-get download checks the archive's signatures). */
async function debianPackage(p: { name: string; version: string }): Promise<string> {
  const dir = join(CACHE, "debs");
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, `${p.name}_${p.version.replace(/:/g, "%3a")}_${ARCH.deb}.deb`);
  if (await exists(file)) return file;
  log(`apt-get download ${p.name}=${p.version}`);
  const apt = ["-o", "DPkg::Lock::Timeout=600"];
  try {
    await run("apt-get", [...apt, "download", `${p.name}=${p.version}`], { cwd: dir });
  } catch {
    await run("apt-get", [...apt, "update", "-qq"]);
    await run("apt-get", [...apt, "download", `${p.name}=${p.version}`], { cwd: dir }).catch((e) => {
      throw new Error(
        `the pinned Debian package ${p.name}=${p.version} is not in the archive (bump deploy/image/debian-packages.txt ` +
          `to a version from \`apt-cache policy ${p.name}\`): ${(e as Error).message}`,
      );
    });
  }
  if (!(await exists(file))) throw new Error(`apt-get download left no ${file}`);
  return file;
}

/** Extracts the runtime's files (and the copyright) of the pinned packages into rootfs. */
async function addDebianFiles(rootfs: string): Promise<DebianPackage[]> {
  const extracted = join(CACHE, "debs-extracted");
  const packages: DebianPackage[] = [];
  await Deno.mkdir(join(rootfs, "var/lib/dpkg/status.d"), { recursive: true });
  for (const p of await pinnedDebianPackages()) {
    const deb = await debianPackage(p);
    const dir = join(extracted, basename(deb, ".deb"));
    if (!(await exists(dir))) {
      await Deno.mkdir(dir, { recursive: true });
      await run("dpkg-deb", ["-x", deb, dir]);
    }
    const control = await run("dpkg-deb", ["-f", deb]);
    const field = (k: string) => control.match(new RegExp(`^${k}: (.*)$`, "m"))?.[1] ?? "";
    if (field("Version") !== p.version) {
      throw new Error(`${deb}: expected version ${p.version}, found ${field("Version")}`);
    }
    const files: string[] = [];
    for (const f of RUNTIME_FILES) {
      if (await exists(join(dir, f))) files.push(f);
    }
    const copyright = `usr/share/doc/${p.name}/copyright`;
    if (await exists(join(dir, copyright))) files.push(copyright);
    // cp -a keeps the symlinks (ld-linux, libc.so.6 -> libc-2.36.so in older layouts) as they are.
    await run("cp", ["-a", "--parents", ...files, rootfs], { cwd: dir });
    await Deno.writeTextFile(
      join(rootfs, "var/lib/dpkg/status.d", p.name),
      control.replace(/^(Package: .*)$/m, "$1\nStatus: install ok installed"),
    );
    packages.push({ name: p.name, version: p.version, arch: field("Architecture") || ARCH.deb });
  }
  for (const f of RUNTIME_FILES) {
    if (!(await exists(join(rootfs, f)))) throw new Error(`no pinned Debian package provides /${f}`);
  }
  return packages;
}

/** The Deno runtime out of the npm package @deno/linux-<arch>-glibc at this Deno's version (npm checks its integrity). */
async function denoRuntime(version: string): Promise<string> {
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

async function copySource(dest: string): Promise<void> {
  const files = (await run("git", ["ls-files", "-z", "--", ...SOURCE_PATHS])).split("\0").filter((f) => f);
  const kept = files.filter((f) => !f.endsWith("_test.ts"));
  if (!kept.includes("main.ts")) throw new Error("git ls-files found no main.ts: run from a git checkout");
  await Deno.mkdir(dest, { recursive: true });
  await run("cp", ["--parents", ...kept, dest]);
}

async function writeEtc(rootfs: string): Promise<void> {
  await Deno.mkdir(join(rootfs, "etc"), { recursive: true });
  await Deno.writeTextFile(
    join(rootfs, "etc/passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${UID}:${UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  await Deno.writeTextFile(join(rootfs, "etc/group"), `root:x:0:\nnonroot:x:${UID}:\n`);
  // Scanners (syft, trivy) match the Debian packages' advisories by this.
  await Deno.writeTextFile(
    join(rootfs, "etc/os-release"),
    `PRETTY_NAME="zen-lead on Debian GNU/Linux ${DEBIAN_RELEASE} packages"\nNAME="Debian GNU/Linux"\n` +
      `VERSION_ID="${DEBIAN_RELEASE}"\nID=debian\nHOME_URL="https://github.com/kube-zen/zen-lead"\n`,
  );
  await Deno.mkdir(join(rootfs, "home/nonroot"), { recursive: true });
  await Deno.chown(join(rootfs, "home/nonroot"), UID, UID);
  await Deno.mkdir(join(rootfs, "tmp"), { recursive: true });
  await Deno.chmod(join(rootfs, "tmp"), 0o1777);
}

async function syftSbom(rootfs: string, output: string): Promise<boolean> {
  const { syft } = toolPaths();
  if (!(await exists(syft))) {
    log(`no syft at ${syft} (bash tests/harness/build-tools.sh builds it): CycloneDX SBOM only`);
    return false;
  }
  // npm packages ship their own CI files; syft would list their GitHub Actions as image contents.
  await run(syft, [
    "scan",
    `dir:${rootfs}`,
    "-q",
    "--exclude",
    "./deno-dir/**/.github/**",
    "-o",
    `spdx-json=${output}`,
  ], {
    env: { SYFT_CHECK_FOR_APP_UPDATE: "false" },
  });
  return true;
}

async function main(): Promise<void> {
  const started = performance.now();
  const denoJson = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const version: string = denoJson.version;
  const startTask: string = denoJson.tasks?.start ?? "";
  const denortBin = Deno.env.get("DENORT_BIN");
  const tag = `localhost/zen-lead:${version}`;
  const entrypoint = denortBin ? [IMAGE_PATHS.binary] : sourceEntrypoint(startTask);
  log(
    `building ${tag} (${denortBin ? `deno compile with DENORT_BIN=${denortBin}` : "Deno runtime + source"})`,
  );
  log(`entrypoint: ${JSON.stringify(entrypoint)}`);

  await ensureContainerTools();
  const rootfs = join(OUT, "rootfs");
  await Deno.remove(rootfs, { recursive: true }).catch(() => {});
  await Deno.mkdir(rootfs, { recursive: true });
  const debs = await addDebianFiles(rootfs);
  await writeEtc(rootfs);

  const denoVersion = Deno.version.deno;
  const npm = await lockedNpmPackages(join(ROOT, "deno.lock"));
  let cachedNpm: typeof npm = [];
  if (denortBin) {
    // The binary is compiled from a staged copy with the same pruned config and cache as the source image,
    // so it embeds only main.ts's graph.
    const staging = join(OUT, "compile");
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    const app = join(staging, "app");
    const denoDir = join(staging, "deno-dir");
    await copySource(app);
    await frozenCache(app, denoDir, denoJson);
    const binary = join(rootfs, IMAGE_PATHS.binary.slice(1));
    await Deno.mkdir(dirname(binary), { recursive: true });
    log(`deno ${compileArgs(startTask, binary).join(" ")}`);
    await run(Deno.execPath(), compileArgs(startTask, binary), {
      cwd: app,
      env: { DENORT_BIN: denortBin, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
    });
    cachedNpm = await presentIn(denoDir, npm);
  } else {
    const deno = await denoRuntime(denoVersion);
    await Deno.mkdir(join(rootfs, "usr/bin"), { recursive: true });
    await Deno.copyFile(deno, join(rootfs, IMAGE_PATHS.deno.slice(1)));
    await Deno.chmod(join(rootfs, IMAGE_PATHS.deno.slice(1)), 0o755);
    const app = join(rootfs, IMAGE_PATHS.app.slice(1));
    await copySource(app);
    const denoDir = join(rootfs, IMAGE_PATHS.denoDir.slice(1));
    await frozenCache(app, denoDir, denoJson);
    cachedNpm = await presentIn(denoDir, npm);
  }

  const sbomBase = join(OUT, `zen-lead-${version}`);
  await Deno.writeTextFile(
    `${sbomBase}.cdx.json`,
    JSON.stringify(
      cycloneDx({
        version,
        deno: denoVersion,
        denoPackage: `@deno/${ARCH.npm}`,
        debs,
        npm: cachedNpm,
        compiled: !!denortBin,
      }),
      null,
      2,
    ) +
      "\n",
  );
  const spdx = await syftSbom(rootfs, `${sbomBase}.spdx.json`);

  const env = denortBin
    ? []
    : [`DENO_DIR=${IMAGE_PATHS.denoDir}`, "DENO_NO_UPDATE_CHECK=1", "DENO_NO_PROMPT=1"];
  const ctr = (await run("buildah", ["from", "scratch"])).trim();
  try {
    await run("buildah", ["copy", "--quiet", ctr, `${rootfs}/`, "/"]);
    await run("buildah", [
      "config",
      "--user",
      `${UID}:${UID}`,
      "--workingdir",
      denortBin ? "/" : IMAGE_PATHS.app,
      "--entrypoint",
      JSON.stringify(entrypoint),
      "--cmd",
      "",
      ...env.flatMap((e) => ["--env", e]),
      "--port",
      "8080",
      "--port",
      "8081",
      "--label",
      `org.opencontainers.image.title=zen-lead`,
      "--label",
      `org.opencontainers.image.version=${version}`,
      "--label",
      `org.opencontainers.image.source=https://github.com/kube-zen/zen-lead`,
      "--label",
      `org.opencontainers.image.licenses=Apache-2.0`,
      ctr,
    ]);
    await run("buildah", ["commit", "--quiet", "--rm", "--timestamp", "0", ctr, tag]);
  } catch (e) {
    await run("buildah", ["rm", ctr]).catch(() => {});
    throw e;
  }
  const size = Number((await run("podman", ["image", "inspect", "--format", "{{.Size}}", tag])).trim());
  log(
    `built ${tag}: ${(size / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  log(`SBOM: ${sbomBase}.cdx.json${spdx ? ` and ${sbomBase}.spdx.json` : ""}`);
  log(`try: podman run --rm --runtime runc ${tag} --help`);
}

/**
 * The image's dependency cache: only main.ts's graph. The image gets its own deno.json without test-only
 * imports, `deno install` prunes its deno.lock copy to match (checked to only drop entries), and a run with
 * `--cached-only --frozen` proves the graph, lazily imported parts included, loads from the cache alone.
 */
async function frozenCache(app: string, denoDir: string, denoJson: Record<string, unknown>): Promise<void> {
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

async function* walkFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* walkFiles(path);
    else if (e.isFile) yield path;
  }
}

/** The locked npm packages that `deno cache` actually put into the image's DENO_DIR. */
async function presentIn(denoDir: string, npm: Awaited<ReturnType<typeof lockedNpmPackages>>) {
  const kept = [];
  for (const p of npm) {
    if (await exists(join(denoDir, "npm", "registry.npmjs.org", p.name, p.version))) kept.push(p);
  }
  return kept;
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    log(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
