/**
 * A target server in a child process, steered over stdin: the test writes one JSON command a line and the child
 * answers `{"ack":true}` once it is in force; the child reports `{"hit":<epoch ms>}` per request it served.
 */
import { readLines } from "../../health/grpc_prober_protocol.ts";

export interface SteeredProcess<R> {
  /** What the child's first ready message said (e.g. its port). */
  readonly ready: R;
  /** Epoch ms of every request the child served. */
  readonly hits: number[];
  /** Sends a command; resolves on its ack. */
  send(cmd: Record<string, unknown>): Promise<void>;
  /** Closes stdin (the child exits) and waits for the child and its output. */
  close(): Promise<void>;
}

/**
 * Spawns `command` (stdin and stdout piped) and resolves once `readyOf` returns a value for one of its messages;
 * rejects with `what` and the exit code if the child exits first.
 */
export async function startSteeredProcess<R>(
  command: Deno.Command,
  readyOf: (msg: Record<string, unknown>) => R | undefined,
  what: string,
): Promise<SteeredProcess<R>> {
  const child = command.spawn();
  const hits: number[] = [];
  const acks: (() => void)[] = [];
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let resolveReady!: (r: R) => void;
  const readyMsg = new Promise<R>((r) => resolveReady = r);
  const reading = readLines(child.stdout, (line) => {
    const msg = JSON.parse(line) as { hit?: number; ack?: boolean } & Record<string, unknown>;
    const r = readyOf(msg);
    if (r !== undefined) resolveReady(r);
    if (msg.hit !== undefined) hits.push(msg.hit);
    if (msg.ack) acks.shift()?.();
  });
  const ready = await Promise.race([
    readyMsg,
    child.status.then((s) => Promise.reject(new Error(`${what} exited with ${s.code} before it was ready`))),
  ]);
  return {
    ready,
    hits,
    async send(cmd) {
      const acked = new Promise<void>((r) => acks.push(r));
      await writer.write(encoder.encode(JSON.stringify(cmd) + "\n"));
      await acked;
    },
    async close() {
      await writer.close().catch(() => {});
      await child.status;
      await reading;
    },
  };
}
