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
import { dirname, join } from "node:path";
import { compileArgs, IMAGE_PATHS, sourceEntrypoint } from "./entrypoint.ts";
import { cycloneDx, DEBIAN_RELEASE, lockedNpmPackages } from "./sbom.ts";
import { toolPaths } from "../../tests/harness/tools.ts";
import { addDebianFiles, ensureContainerTools } from "./debian.ts";
import { copySource, denoRuntime, frozenCache, presentIn } from "./deno_parts.ts";
import { ARCH, exists, log, OUT, ROOT, run } from "./host.ts";

const UID = 65532;

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

  const env = [
    `HOME=${IMAGE_PATHS.home}`,
    ...(denortBin ? [] : [
      `DENO_DIR=${IMAGE_PATHS.denoDir}`,
      "DENO_NO_UPDATE_CHECK=1",
      "DENO_NO_PROMPT=1",
    ]),
  ];
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

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    log(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
