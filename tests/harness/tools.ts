// Finds the deploy tools (helm, kustomize, syft) and CRD files that build-tools.sh caches, building them first.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface DeployTools {
  helm: string;
  kustomize: string;
  syft: string;
  /** Published CRD YAML: monitoring.coreos.com_{servicemonitors,podmonitors,prometheusrules}.yaml, Argo CD's. */
  crdDir: string;
}

const HARNESS_DIR = fileURLToPath(new URL(".", import.meta.url));
const BUILD_SCRIPT = join(HARNESS_DIR, "build-tools.sh");

function recipe(): string {
  const text = Deno.readTextFileSync(join(HARNESS_DIR, "tools.env"));
  const m = /^TOOLS_RECIPE=(.*)$/m.exec(text);
  if (!m) throw new Error("expected TOOLS_RECIPE=... in tests/harness/tools.env, found none");
  return m[1].trim();
}

/** Where the tools live, whether or not they are built yet. */
export function toolPaths(): DeployTools {
  const root = Deno.env.get("ZEN_LEAD_TOOLS_CACHE") ??
    join(Deno.env.get("HOME") ?? "/root", ".cache", "zen-lead", "tools");
  const dir = join(root, recipe());
  return {
    helm: join(dir, "bin", "helm"),
    kustomize: join(dir, "bin", "kustomize"),
    syft: join(dir, "bin", "syft"),
    crdDir: join(dir, "crds"),
  };
}

let building: Promise<DeployTools> | undefined;

/** Runs build-tools.sh once per process (a no-op when its stamps are current) and returns the paths. */
export function ensureTools(): Promise<DeployTools> {
  building ??= (async () => {
    const status = await new Deno.Command("bash", {
      args: [BUILD_SCRIPT],
      stdout: "inherit",
      stderr: "inherit",
    })
      .spawn().status;
    if (!status.success) throw new Error(`${BUILD_SCRIPT} failed (exit ${status.code}); its log says why`);
    return toolPaths();
  })();
  return building;
}
