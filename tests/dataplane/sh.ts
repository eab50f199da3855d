// Runs the system tools the data plane is built with (ip, nft, socat); errors carry the command and its stderr.

/** Runs `cmd args...` and returns its stdout; throws naming the command and what it printed when it fails. */
export async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`expected \`${cmd} ${args.join(" ")}\` to succeed, found exit ${out.code}: ${stderr}`);
  }
  return stdout;
}

/** The synchronous form, for unload and signal handlers (no awaiting there); never throws. */
export function shSync(cmd: string, args: string[]): { ok: boolean; stdout: string } {
  try {
    const out = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "null" }).outputSync();
    return { ok: out.success, stdout: new TextDecoder().decode(out.stdout) };
  } catch {
    return { ok: false, stdout: "" };
  }
}

/** True when `cmd` is an executable on PATH. */
export function onPath(cmd: string): boolean {
  return shSync("sh", ["-c", `command -v ${cmd}`]).ok;
}
