/**
 * Health targets on real pod IPs: a server process inside a pod slot's namespace, steered over its stdin
 * (_http_target_main.ts). The test keeps the hits, as with the in-process targets of tests/e2e/_servers.ts.
 */
import { fileURLToPath } from "node:url";
import type { PodSlot } from "./topology.ts";
import type { HealthHttpTarget } from "../e2e/_health_env.ts";
import type { HttpMode } from "../e2e/_servers.ts";
import { startSteeredProcess } from "../harness/steered_process.ts";

const MAIN = fileURLToPath(new URL("./_http_target_main.ts", import.meta.url));

export async function startNsHttpTarget(slot: PodSlot, mode: HttpMode = "ok"): Promise<HealthHttpTarget> {
  const command = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      slot.ns,
      Deno.execPath(),
      "run",
      "--no-config",
      "--no-lock",
      "--allow-net",
      MAIN,
      mode,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  });
  const target = await startSteeredProcess(
    command,
    (msg) => msg.listening ? true : undefined,
    `HTTP target in ${slot.ns}`,
  );
  return {
    ip: slot.ip,
    port: 8080,
    hits: target.hits,
    setMode: (m) => target.send({ mode: m }),
    down: () => target.send({ down: true }),
    up: () => target.send({ up: true }),
    close: target.close,
  };
}
