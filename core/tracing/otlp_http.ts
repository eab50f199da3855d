/** One OTLP/HTTP request over `fetch` with an AbortSignal timeout; shared by the span and metrics exporters. */
import type { OtlpProtocol } from "./config.ts";

export interface OtlpTarget {
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** POSTs one encoded OTLP request; throws with the status and the start of the body when it is refused. */
export async function postOtlp(target: OtlpTarget, body: Uint8Array): Promise<void> {
  const res = await fetch(target.url, {
    method: "POST",
    headers: {
      ...target.headers,
      "content-type": target.protocol === "http/json" ? "application/json" : "application/x-protobuf",
    },
    body: body as Uint8Array<ArrayBuffer>,
    signal: AbortSignal.timeout(target.timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`OTLP ${target.url} answered ${res.status}: ${text.slice(0, 200)}`);
}
