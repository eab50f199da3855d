/**
 * `deno task kubectl-plugin [DIR]`: installs zen-lead's entry point as the kubectl plugin `kubectl-zen_lead` in
 * DIR (default ~/.local/bin), so `kubectl zen-lead explain ...` and `kubectl zen-lead status` work once DIR is on
 * PATH. A compiled binary (`deno task compile`, dist/zen-lead) is copied; without one, a small wrapper runs
 * main.ts with this Deno and this checkout's deno.json.
 */
import { fileURLToPath } from "node:url";

export const PLUGIN_FILE = "kubectl-zen_lead";
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The wrapper script: the same entry point, marked as the kubectl plugin (a bare call prints the commands). */
export function wrapperScript(denoPath: string, root: string): string {
  const q = (s: string) => `'${s.replaceAll("'", `'"'"'`)}'`;
  return [
    "#!/bin/sh",
    "# kubectl-zen_lead: zen-lead explain/status as a kubectl plugin (written by `deno task kubectl-plugin`).",
    `ZEN_LEAD_KUBECTL_PLUGIN=1 exec ${q(denoPath)} run -A --quiet --frozen --config ${
      q(root + "deno.json")
    } ${q(root + "main.ts")} "$@"`,
    "",
  ].join("\n");
}

export async function installPlugin(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const target = `${dir.replace(/\/$/, "")}/${PLUGIN_FILE}`;
  const compiled = `${ROOT}dist/zen-lead`;
  try {
    await Deno.copyFile(compiled, target);
  } catch {
    await Deno.writeTextFile(target, wrapperScript(Deno.execPath(), ROOT));
  }
  await Deno.chmod(target, 0o755);
  return target;
}

if (import.meta.main) {
  const dir = Deno.args[0] ?? `${Deno.env.get("HOME")}/.local/bin`;
  const path = await installPlugin(dir);
  console.log(`installed ${path}`);
  const onPath = (Deno.env.get("PATH") ?? "").split(":").some((p) =>
    p.replace(/\/$/, "") === dir.replace(/\/$/, "")
  );
  if (!onPath) console.log(`add ${dir} to PATH, then: kubectl zen-lead status`);
  else console.log("try: kubectl zen-lead status");
}
