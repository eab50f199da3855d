/**
 * The image's CycloneDX SBOM, built from what the image build itself put in: the pinned Debian packages, the
 * Deno runtime's npm package and the npm packages of deno.lock that the dependency cache holds (with their
 * lockfile integrity hashes). Pure apart from reading deno.lock.
 */

/** The Debian release whose packages debian-packages.txt pins (os-release in the image, purls in the SBOM). */
export const DEBIAN_RELEASE = "12";

export interface DebianPackage {
  name: string;
  version: string;
  arch: string;
}

export interface NpmPackage {
  name: string;
  version: string;
  /** The lockfile's Subresource Integrity string, e.g. `sha512-...`. */
  integrity?: string;
}

/** The npm packages of a deno.lock (v4/v5): keys such as `@scope/name@1.2.3_peer@4.5.6`. */
export function npmPackagesOfLock(lock: { npm?: Record<string, { integrity?: string }> }): NpmPackage[] {
  const byId = new Map<string, NpmPackage>();
  for (const [key, entry] of Object.entries(lock.npm ?? {})) {
    const id = key.split("_")[0]; // the part after "_" names peer-dependency variants of one package
    const at = id.lastIndexOf("@");
    if (at <= 0) continue;
    const pkg = { name: id.slice(0, at), version: id.slice(at + 1), integrity: entry.integrity };
    byId.set(`${pkg.name}@${pkg.version}`, pkg);
  }
  return [...byId.values()].sort((a, b) =>
    a.name.localeCompare(b.name) || a.version.localeCompare(b.version)
  );
}

export async function lockedNpmPackages(lockPath: string): Promise<NpmPackage[]> {
  return npmPackagesOfLock(JSON.parse(await Deno.readTextFile(lockPath)));
}

function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, "%40")}@${version}`;
}

/** `sha512-<base64>` to CycloneDX's `{alg: "SHA-512", content: <hex>}`. */
export function integrityHash(integrity: string | undefined): { alg: string; content: string }[] {
  const m = integrity?.match(/^sha(256|384|512)-([A-Za-z0-9+/=]+)$/);
  if (!m) return [];
  const bytes = Uint8Array.from(atob(m[2]), (c) => c.charCodeAt(0));
  return [{
    alg: `SHA-${m[1]}`,
    content: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
  }];
}

export interface SbomInput {
  version: string;
  deno: string;
  /** The npm package the runtime came from, e.g. `@deno/linux-x64-glibc`. */
  denoPackage: string;
  debs: DebianPackage[];
  npm: NpmPackage[];
  /** The image carries a `deno compile` binary rather than the runtime and the cache. */
  compiled: boolean;
}

/** A CycloneDX 1.5 document; no timestamp or random serial, so one input gives one byte-identical file. */
export function cycloneDx(input: SbomInput): Record<string, unknown> {
  const component = (type: string, name: string, version: string, purl: string, extra = {}) => ({
    type,
    "bom-ref": purl,
    name,
    version,
    purl,
    ...extra,
  });
  const components = [
    component("application", "deno", input.deno, npmPurl(input.denoPackage, input.deno), {
      description: input.compiled ? "runtime inside the deno compile binary" : "Deno runtime",
      licenses: [{ license: { id: "MIT" } }],
    }),
    ...input.debs.map((d) =>
      component(
        "library",
        d.name,
        d.version,
        `pkg:deb/debian/${d.name}@${
          encodeURIComponent(d.version)
        }?arch=${d.arch}&distro=debian-${DEBIAN_RELEASE}`,
      )
    ),
    ...input.npm.map((p) =>
      component("library", p.name, p.version, npmPurl(p.name, p.version), {
        hashes: integrityHash(p.integrity),
      })
    ),
  ];
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    version: 1,
    metadata: {
      component: component("container", "zen-lead", input.version, `pkg:oci/zen-lead@${input.version}`),
      tools: { components: [{ type: "application", name: "zen-lead deploy/image/build.ts" }] },
    },
    components,
  };
}
