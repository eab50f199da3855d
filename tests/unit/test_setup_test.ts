/** The test setup fails a run on any unhandled promise rejection. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** `deno test` of one fixture with the suite's preload, as `deno task test` runs it. */
async function testWithPreload(fixture: string): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--frozen", "-A", "--preload", "tests/_setup.ts", `tests/fixtures/${fixture}`],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("an unhandled rejection fails the test it happened in and the run, naming the reason", async () => {
  const { code, text } = await testWithPreload("unhandled_rejection.ts");
  assert.notEqual(code, 0, text);
  assert.match(text, /unhandled promise rejection \(a bug; this run fails\): Error: nobody handles this/);
  assert.match(text, /leaves a rejection unhandled \.\.\. FAILED/);
  assert.match(text, /a later test still runs \.\.\. ok/);
});

Deno.test("a module whose top-level await rejects fails the run instead of reporting 0 tests as ok", async () => {
  const { code, text } = await testWithPreload("module_rejection.ts");
  assert.notEqual(code, 0, text);
  assert.match(text, /Error: module preparation fails/);
  assert.match(text, /the test module loaded without an unhandled rejection \.\.\. FAILED/);
});
