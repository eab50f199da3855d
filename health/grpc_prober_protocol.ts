/** The line-delimited JSON spoken between the controller and its gRPC prober process. */

export type ProberRequest =
  | { op: "check"; id: number; address: string; service: string; deadline?: number }
  | { op: "cancel"; id: number }
  | { op: "release"; address: string }
  | { op: "stats"; id: number };

export type ProberReply =
  | { id: number; healthy: boolean; reason: string }
  | { id: number; channels: number };

/** The flag with which the zen-lead binary (deno compile) runs as its own gRPC prober. */
export const PROBER_FLAG = "--internal-grpc-prober";

/** Splits a byte stream into lines, calling `onLine` for each complete one. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() !== "") onLine(line);
    }
  }
}
