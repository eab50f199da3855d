/** Runs `deno task demo` (tests/harness/demo.ts) as the README does, for the demo tests. */
import assert from "node:assert/strict";
import { ROOT } from "./_env.ts";

/** The demo's stdout with `flags` (e.g. `--once`); a non-zero exit fails with stdout and the tail of stderr. */
export async function runDemo(...flags: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ROOT + "tests/harness/demo.ts", ...flags],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr).slice(-2000));
  return text;
}
