/** Reads what a data-plane client (_client.ts) printed: one record per answer or error. */
import type { SupervisedProcess } from "../harness/process.ts";
import type { Processes } from "./processes.ts";

/** `s`: when the request started, `e`: when it ended (epoch ms); `pod` on success, `err` on failure. */
export interface ClientRecord {
  s: number;
  e: number;
  pod?: string;
  err?: string;
  conn?: number;
}

export class ClientLog {
  readonly records: ClientRecord[] = [];
  #offset = 0;
  #partial = "";

  constructor(readonly process: SupervisedProcess, private procs: Processes) {}

  /** Reads the lines printed since the last call into `records`; returns the new ones. */
  async poll(): Promise<ClientRecord[]> {
    const file = await Deno.open(this.process.logPath, { read: true }).catch(() => undefined);
    if (!file) return [];
    try {
      await file.seek(this.#offset, Deno.SeekMode.Start);
      // One decoder over all chunks: a character split across two reads decodes whole.
      const decoder = new TextDecoder();
      let text = this.#partial;
      const buf = new Uint8Array(1 << 16);
      while (true) {
        const n = await file.read(buf);
        if (n === null) break;
        text += decoder.decode(buf.subarray(0, n), { stream: true });
        this.#offset += n;
      }
      text += decoder.decode();
      const lines = text.split("\n");
      this.#partial = lines.pop() ?? "";
      const fresh: ClientRecord[] = [];
      for (const line of lines) {
        if (!line.startsWith("{")) continue; // the supervisor's own messages
        fresh.push(JSON.parse(line) as ClientRecord);
      }
      this.records.push(...fresh);
      return fresh;
    } finally {
      file.close();
    }
  }

  stop(): Promise<void> {
    return this.procs.stop(this.process);
  }
}
