/** The image build's host: repository and cache paths, this machine's architecture, and command/file helpers. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const OUT = join(ROOT, "dist", "image");
export const CACHE = join(Deno.env.get("HOME") ?? "/root", ".cache", "zen-lead", "image");
/** This machine's architecture in the names Debian, npm and glibc use (the image is built for the host's). */
export const ARCH = Deno.build.arch === "aarch64"
  ? { deb: "arm64", npm: "linux-arm64-glibc", triplet: "aarch64-linux-gnu", loader: "ld-linux-aarch64.so.1" }
  : { deb: "amd64", npm: "linux-x64-glibc", triplet: "x86_64-linux-gnu", loader: "ld-linux-x86-64.so.2" };

export function log(msg: string): void {
  console.error(`[image] ${msg}`);
}

/** Runs `cmd` (in ROOT unless `cwd`) and returns its stdout; a failure throws with the tail of its stderr. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
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

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Every regular file below `dir`. */
export async function* walkFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* walkFiles(path);
    else if (e.isFile) yield path;
  }
}
