/** One OTLP/HTTP request over `fetch` with an AbortSignal timeout; shared by the span and metrics exporters. */
import type { OtlpProtocol } from "./config.ts";

/** Where and how one OTLP request is sent. */
export interface OtlpTarget {
  /** The full URL, signal path included (…/v1/metrics). */
  url: string;
  /** The body encoding. */
  protocol: OtlpProtocol;
  /** Extra request headers (OTEL_EXPORTER_OTLP_HEADERS and the plugin's own). */
  headers: Record<string, string>;
  /** How long one POST may take. */
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
