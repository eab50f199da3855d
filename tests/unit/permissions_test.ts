/**
 * The process runs with explicit Deno permissions written in one place, the `start` task: no -A,
 * remote imports denied, the lockfile frozen, run access only for the gRPC prober, and every env var the code
 * reads allowed. The compiled binary gets the same set; the gRPC prober gets only the network.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ENV_VARS } from "../../core/config/env.ts";
import { PROBER_PERMISSIONS } from "../../health/grpc_prober.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tasks =
  (JSON.parse(await Deno.readTextFile(`${root}deno.json`)) as { tasks: Record<string, string> }).tasks;
const flags = (task: string) => tasks[task].split(/\s+/).filter((w) => w.startsWith("-"));
const value = (list: string[], name: string) =>
  list.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1);

Deno.test("start runs with explicit permissions: no -A, no write, run only for the prober, imports denied", () => {
  const start = flags("start");
  for (const broad of ["-A", "--allow-all", "--allow-write", "--allow-ffi", "--allow-import"]) {
    assert.ok(!start.some((f) => f === broad || f.startsWith(`${broad}=`)), `${broad} in start`);
  }
  for (const needed of ["--frozen", "--no-prompt", "--deny-import", "--allow-net", "--ignore-env"]) {
    assert.ok(start.includes(needed), `${needed} missing`);
  }
  assert.equal(value(start, "--allow-run"), "deno", "the prober's runtime only");
  assert.ok(!start.includes("--allow-read") && value(start, "--allow-read"), "reads are scoped");
  assert.ok(!value(start, "--allow-read")!.split(",").includes("/"));
  const env = value(start, "--allow-env")!.split(",");
  for (const name of ENV_VARS) assert.ok(env.includes(name), `${name} is read by the code but not allowed`);
});

Deno.test("compile embeds the same permissions (its own name as the prober); every deno task is --frozen", () => {
  const without = (list: string[]) => list.filter((f) => !f.startsWith("--allow-run") && f !== "--output");
  assert.deepEqual(without(flags("compile")), without(flags("start")));
  assert.equal(value(flags("compile"), "--allow-run"), "zen-lead");
  for (const [name, command] of Object.entries(tasks)) {
    for (const part of command.split("&&").map((p) => p.trim())) {
      if (/^deno (run|test|check|compile)\b/.test(part)) {
        assert.match(part, /--frozen/, `task ${name}: ${part}`);
      }
    }
  }
});

Deno.test("the gRPC prober runs with the network only", () => {
  assert.ok(PROBER_PERMISSIONS.includes("--allow-net"));
  assert.ok(
    !PROBER_PERMISSIONS.some((f) => f === "-A" || /^--allow-(all|read|write|run|env|ffi|sys)/.test(f)),
  );
});
