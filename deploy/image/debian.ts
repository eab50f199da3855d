/** The image's Debian parts: container tools on the host, and the runtime files of the pinned packages. */
import { basename, join } from "node:path";
import type { DebianPackage } from "./sbom.ts";
import { ARCH, CACHE, exists, log, ROOT, run } from "./host.ts";

/** The files of the Debian packages that the Deno runtime links against (`ldd deno`). */
const RUNTIME_FILES = [
  ARCH.deb === "amd64" ? `lib64/${ARCH.loader}` : `lib/${ARCH.loader}`,
  ...[ARCH.loader, "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libgcc_s.so.1"]
    .map((f) => `lib/${ARCH.triplet}/${f}`),
];

/** podman, buildah and runc from Debian when missing (a fresh machine). */
export async function ensureContainerTools(): Promise<void> {
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
export async function addDebianFiles(rootfs: string): Promise<DebianPackage[]> {
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
