/**
 * Health targets on real pod IPs: a server process inside a pod slot's namespace, steered over its stdin
 * (_http_target_main.ts). The test keeps the hits, as with the in-process targets of tests/e2e/_servers.ts.
 */
import { fileURLToPath } from "node:url";
import type { PodSlot } from "./topology.ts";
import { readLines } from "../../health/grpc_prober_protocol.ts";

export type HttpMode = "ok" | "fail" | "hang" | "flap";
const MAIN = fileURLToPath(new URL("./_http_target_main.ts", import.meta.url));

export interface NsHttpTarget {
  readonly ip: string;
  readonly port: number;
  /** Epoch ms of every request received. */
  readonly hits: number[];
  setMode(mode: HttpMode): Promise<void>;
  /** Stops listening: connections to ip:port are refused until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startNsHttpTarget(slot: PodSlot, mode: HttpMode = "ok"): Promise<NsHttpTarget> {
  const child = new Deno.Command("ip", {
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
  }).spawn();
  const hits: number[] = [];
  const acks: (() => void)[] = [];
  const writer = child.stdin.getWriter();
  let listening!: () => void;
  const ready = new Promise<void>((r) => listening = r);
  const reading = readLines(child.stdout, (line) => {
    const msg = JSON.parse(line) as { listening?: boolean; hit?: number; ack?: boolean };
    if (msg.listening) listening();
    if (msg.hit !== undefined) hits.push(msg.hit);
    if (msg.ack) acks.shift()?.();
  });
  await Promise.race([
    ready,
    child.status.then((s) => Promise.reject(new Error(`HTTP target in ${slot.ns} exited with ${s.code}`))),
  ]);
  const send = async (cmd: Record<string, unknown>) => {
    const acked = new Promise<void>((r) => acks.push(r));
    await writer.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
    await acked;
  };
  return {
    ip: slot.ip,
    port: 8080,
    hits,
    setMode: (m) => send({ mode: m }),
    down: () => send({ down: true }),
    up: () => send({ up: true }),
    async close() {
      await writer.close().catch(() => {});
      await child.status;
      await reading;
    },
  };
}
