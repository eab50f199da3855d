/**
 * The krew manifest of the kubectl plugin, for a release: `deno run -A kubectl-plugin/krew.ts VERSION BASE_URL
 * os-arch=ARCHIVE...` prints `zen-lead.yaml` with each archive's sha256 (krew refuses an archive whose digest
 * differs). Each archive (.tar.gz) holds the `kubectl-zen_lead` binary and LICENSE.
 */
import { stringify } from "yaml";
import { PLUGIN_FILE } from "./install.ts";

export interface Archive {
  os: string;
  arch: string;
  file: string;
  bytes: Uint8Array;
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function krewManifest(version: string, baseURL: string, archives: readonly Archive[]) {
  if (!/^v\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`version: expected vMAJOR.MINOR.PATCH, received ${version}`);
  }
  return {
    apiVersion: "krew.googlecontainertools.github.com/v1alpha2",
    kind: "Plugin",
    metadata: { name: "zen-lead" },
    spec: {
      version,
      homepage: "https://github.com/kube-zen/zen-lead",
      shortDescription: "Explain zen-lead's leader choice and list leader Services",
      description:
        "kubectl zen-lead explain NAMESPACE/SERVICE shows why a pod leads a zen-lead Service and\n" +
        "why the others do not: effective settings and where they came from, every candidate's eligibility\n" +
        "and rank, and warnings. kubectl zen-lead status lists every opted-in Service with its leader, the age\n" +
        "of the leadership and the last failover with its latency.\n",
      platforms: await Promise.all(archives.map(async (a) => ({
        selector: { matchLabels: { os: a.os, arch: a.arch } },
        uri: `${baseURL.replace(/\/$/, "")}/${a.file.split("/").at(-1)}`,
        sha256: await sha256(a.bytes),
        files: [{ from: PLUGIN_FILE, to: "." }, { from: "LICENSE", to: "." }],
        bin: PLUGIN_FILE,
      }))),
    },
  };
}

if (import.meta.main) {
  const [version, baseURL, ...pairs] = Deno.args;
  if (!version || !baseURL || pairs.length === 0) {
    console.error("usage: krew.ts VERSION BASE_URL os-arch=ARCHIVE.tar.gz ...");
    Deno.exit(2);
  }
  const archives: Archive[] = [];
  for (const p of pairs) {
    const m = /^(linux|darwin|windows)-(amd64|arm64)=(.+)$/.exec(p);
    if (!m) throw new Error(`${p}: expected os-arch=path, e.g. linux-amd64=dist/zen-lead-linux-amd64.tar.gz`);
    archives.push({ os: m[1], arch: m[2], file: m[3], bytes: await Deno.readFile(m[3]) });
  }
  console.log(stringify(await krewManifest(version, baseURL, archives)));
}
