/**
 * The spans zen-lead makes, through @opentelemetry/api: without an SDK (tracing off) every call below returns
 * a non-recording span at the cost of a function call.
 */
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

export const tracer = trace.getTracer("zen-lead", "0.1.0");

/** Set once the SDK is installed (setup.ts); while false every helper returns at its first line. */
export const tracingState = { on: false };

/** Set on a span (true) to keep its trace whatever the sampling ratio said (core/tracing/sampler.ts). */
export const KEEP_ATTRIBUTE = "zen_lead.failover";

/**
 * An HTTP client span (semantic conventions: `{method}`, url.full, server.*, http.response.status_code,
 * http.request.resend_count), a child of the active span. Only inside a traced operation (a reconcile, a
 * backend operation): Lease renewals and watches alone do not start traces.
 */
export function startHttpSpan(
  method: string,
  urlOf: () => URL,
  extra: Record<string, string | number | undefined> = {},
  resendCount = 0,
): Span | undefined {
  if (!tracingState.on || !trace.getActiveSpan()?.isRecording()) return undefined;
  const url = urlOf();
  const attributes: Record<string, string | number> = {
    "http.request.method": method,
    "url.full": url.href,
    "server.address": url.hostname,
    "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)),
  };
  if (resendCount > 0) attributes["http.request.resend_count"] = resendCount;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) attributes[k] = v;
  return tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes });
}

/** W3C `traceparent` (and `tracestate`) of `span`, to send with its request. */
export function traceHeaders(span: Span | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (span) propagation.inject(trace.setSpan(context.active(), span), headers);
  return headers;
}

/** Ends an HTTP span with its status: 4xx/5xx and network errors are errors (client span rules). */
export function endHttpSpan(span: Span | undefined, status: number | undefined, error?: unknown): void {
  if (!span) return;
  if (status !== undefined) span.setAttribute("http.response.status_code", status);
  if (error !== undefined || (status !== undefined && status >= 400)) {
    span.setAttribute(
      "error.type",
      status !== undefined && status >= 400 ? String(status) : errorType(error),
    );
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : undefined,
    });
  }
  span.end();
}

function errorType(error: unknown): string {
  return error instanceof Error ? (error.name === "Error" ? "network" : error.name) : "network";
}

/** Runs `fn` in a span named `name`, ending it with an error status when `fn` throws. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean | undefined>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!tracingState.on) return await fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return await tracer.startActiveSpan(
    name,
    { attributes: defined(attributes) },
    (span) => ending(span, () => fn(span)),
  );
}

/** Awaits `fn`, then ends `span`, with an error status and the exception when `fn` threw. */
export async function ending<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    span.recordException(e instanceof Error ? e : String(e));
    span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    span.end();
  }
}

export function defined(
  attributes: Record<string, string | number | boolean | undefined>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

/** trace_id / span_id of the active recording span, for log lines. */
export function logCorrelation(): { trace_id: string; span_id: string } | undefined {
  if (!tracingState.on) return undefined;
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return undefined;
  const sc = span.spanContext();
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/** One traced HTTP request as a plugin sees it: the headers to send, and `end` with the outcome. */
export interface HttpClientSpan {
  /** W3C `traceparent`/`tracestate` to send with the request (empty when not traced). */
  readonly headers: Record<string, string>;
  /** Ends the span with the response status, or with the error when there was no response. */
  end(status: number | undefined, error?: unknown): void;
}

/** `startHttpSpan` for plugins, without OpenTelemetry types: the span is ended through the handle. */
export function httpClientSpan(
  method: string,
  urlOf: () => URL,
  extra: Record<string, string | number | undefined> = {},
  resendCount = 0,
): HttpClientSpan {
  const span = startHttpSpan(method, urlOf, extra, resendCount);
  return { headers: traceHeaders(span), end: (status, error) => endHttpSpan(span, status, error) };
}
