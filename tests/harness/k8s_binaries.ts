// Finds the control-plane binaries that build-k8s.sh caches, building them first when missing.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Paths of the cached binaries of the pinned release. */
export interface K8sBinaries {
  kubernetesVersion: string;
  etcdVersion: string;
  binDir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  /** For tests/dataplane/: the real service proxy, run in a network namespace. */
  kubeProxy: string;
}

const HARNESS_DIR = fileURLToPath(new URL(".", import.meta.url));
const BUILD_SCRIPT = join(HARNESS_DIR, "build-k8s.sh");

/** Reads versions.env, the one place the Kubernetes and etcd versions are pinned. */
export function pinnedVersions(): { kubernetes: string; etcd: string; recipe: string } {
  const text = Deno.readTextFileSync(join(HARNESS_DIR, "versions.env"));
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1], match[2]);
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new Error(`expected ${key}=... in tests/harness/versions.env, found none`);
    return value;
  };
  return { kubernetes: get("KUBERNETES_VERSION"), etcd: get("ETCD_VERSION"), recipe: get("BUILD_RECIPE") };
}

function cacheRoot(): string {
  const override = Deno.env.get("ZEN_LEAD_K8S_CACHE");
  if (override) return override;
  const home = Deno.env.get("HOME");
  if (!home) throw new Error("expected HOME or ZEN_LEAD_K8S_CACHE to be set, found neither");
  return join(home, ".cache", "zen-lead", "k8s");
}

/** Where the binaries of the pinned release live, whether or not they are built yet. */
export function binaryPaths(): K8sBinaries {
  const versions = pinnedVersions();
  const binDir = join(cacheRoot(), versions.kubernetes, "bin");
  return {
    kubernetesVersion: versions.kubernetes,
    etcdVersion: versions.etcd,
    binDir,
    etcd: join(binDir, "etcd"),
    kubeApiserver: join(binDir, "kube-apiserver"),
    kubeControllerManager: join(binDir, "kube-controller-manager"),
    kubectl: join(binDir, "kubectl"),
    kubeProxy: join(binDir, "kube-proxy"),
  };
}

function stampIsCurrent(paths: K8sBinaries): boolean {
  const versions = pinnedVersions();
  const want = `kubernetes=${versions.kubernetes} etcd=${versions.etcd} recipe=${versions.recipe}`;
  try {
    const stamp = Deno.readTextFileSync(join(paths.binDir, "..", "stamp"));
    const binaries = [
      paths.etcd,
      paths.kubeApiserver,
      paths.kubeControllerManager,
      paths.kubectl,
      paths.kubeProxy,
    ];
    return stamp.split("\n")[0] === want && binaries.every((b) => Deno.statSync(b).isFile);
  } catch {
    return false;
  }
}

let building: Promise<K8sBinaries> | undefined;

/** Returns the binaries, running build-k8s.sh once per process if the cache is stale (a cold build takes long). */
export function ensureBinaries(): Promise<K8sBinaries> {
  const paths = binaryPaths();
  if (stampIsCurrent(paths)) return Promise.resolve(paths);
  building ??= (async () => {
    console.error(`[cluster] ${paths.binDir} is missing or stale: running ${BUILD_SCRIPT}`);
    const status = await new Deno.Command("bash", {
      args: [BUILD_SCRIPT],
      stdout: "inherit",
      stderr: "inherit",
    })
      .spawn().status;
    if (!status.success || !stampIsCurrent(paths)) {
      building = undefined;
      throw new Error(`expected ${BUILD_SCRIPT} to build ${paths.binDir}, found exit code ${status.code}`);
    }
    return paths;
  })();
  return building;
}
