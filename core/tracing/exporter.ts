/**
 * OTLP over HTTP with `fetch` and an AbortSignal timeout (node:http in Deno 2.9.6 may ignore a timeout on a
 * reused socket and re-send): spans encoded by @opentelemetry/otlp-transformer as protobuf or JSON.
 */
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { type OtlpTarget, postOtlp } from "./otlp_http.ts";

export class FetchSpanExporter implements SpanExporter {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly target: OtlpTarget, private readonly onError: (e: unknown) => void) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const serializer = this.target.protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer;
    const body = serializer.serializeRequest(spans);
    if (!body) return done({ code: ExportResultCode.FAILED, error: new Error("spans could not be encoded") });
    const p = postOtlp(this.target, body).then(
      () => done({ code: ExportResultCode.SUCCESS }),
      (error) => {
        this.onError(error);
        done({ code: ExportResultCode.FAILED, error });
      },
    );
    this.pending.add(p);
    p.finally(() => this.pending.delete(p));
  }

  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
  }
}
