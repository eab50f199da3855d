/**
 * Parent-based ratio sampling that never loses a failover or an error: a root span the ratio rejects is still
 * recorded (not sampled), and its trace is held until its root ends; KeepNotableProcessor then exports the whole
 * trace when the reconcile failed over or failed, and drops it otherwise.
 */
import {
  type Attributes,
  type Context,
  isSpanContextValid,
  type Link,
  type SpanKind,
  trace,
  TraceFlags,
} from "@opentelemetry/api";
import {
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  type Span,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { TracingConfig } from "./config.ts";

import { KEEP_ATTRIBUTE } from "./spans.ts";
export { KEEP_ATTRIBUTE };

/** Deterministic in the trace ID, as TraceIdRatioBased: the same trace is kept or not by every process. */
export function ratioKeeps(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  const low = parseInt(traceId.slice(-8), 16) >>> 0;
  return low < ratio * 0x1_0000_0000;
}

export class KeepNotableSampler implements Sampler {
  constructor(private readonly s: TracingConfig["sampler"]) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    _name: string,
    _kind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    const parent = trace.getSpan(ctx);
    const pc = parent?.spanContext();
    if (pc && isSpanContextValid(pc)) {
      if (pc.traceFlags & TraceFlags.SAMPLED) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      // A local parent held for a decision at its end: its children are held with it.
      if (!pc.isRemote && parent!.isRecording()) return { decision: SamplingDecision.RECORD };
      if (pc.isRemote && this.s.parentBased) return { decision: this.deferOrDrop() };
    }
    if (this.s.kind === "always_off") return { decision: SamplingDecision.NOT_RECORD };
    if (this.s.kind === "always_on" || ratioKeeps(traceId, this.s.ratio)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return { decision: this.deferOrDrop() };
  }

  private deferOrDrop(): SamplingDecision {
    return this.s.kind === "always_off" ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD;
  }

  toString(): string {
    return `KeepNotableSampler{${this.s.kind}${this.s.kind === "ratio" ? ` ${this.s.ratio}` : ""}}`;
  }
}

const MAX_HELD_TRACES = 2_000;
const MAX_SPANS_PER_TRACE = 512;

/** A held span, marked sampled on the way out (the exporter sends the flags as they are). */
function asSampled(span: ReadableSpan): ReadableSpan {
  const sc = span.spanContext();
  return Object.create(span, {
    spanContext: { value: () => ({ ...sc, traceFlags: sc.traceFlags | TraceFlags.SAMPLED }) },
  });
}

function notable(span: ReadableSpan): boolean {
  return span.attributes[KEEP_ATTRIBUTE] === true || span.status.code === 2;
}

/** Passes sampled spans on; holds recorded-only traces until their local root ends, then keeps or drops them. */
export class KeepNotableProcessor implements SpanProcessor {
  private readonly held = new Map<string, { spans: ReadableSpan[]; keep: boolean }>();
  /** Traces decided already (late spans, e.g. a backend operation that outlives its reconcile). */
  private readonly decided = new Map<string, boolean>();

  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, ctx: Context): void {
    this.next.onStart(span, ctx);
  }

  onEnd(span: ReadableSpan): void {
    const sc = span.spanContext();
    if (sc.traceFlags & TraceFlags.SAMPLED) return this.next.onEnd(span);
    const late = this.decided.get(sc.traceId);
    if (late !== undefined) {
      if (late) this.next.onEnd(asSampled(span));
      return;
    }
    let h = this.held.get(sc.traceId);
    if (!h) {
      if (this.held.size >= MAX_HELD_TRACES) this.held.delete(this.held.keys().next().value!);
      h = { spans: [], keep: false };
      this.held.set(sc.traceId, h);
    }
    if (h.spans.length < MAX_SPANS_PER_TRACE) h.spans.push(span);
    h.keep ||= notable(span);
    const parent = span.parentSpanContext;
    if (parent && !parent.isRemote) return;
    // The local root ended: decide the trace.
    this.held.delete(sc.traceId);
    if (this.decided.size >= MAX_HELD_TRACES) this.decided.delete(this.decided.keys().next().value!);
    this.decided.set(sc.traceId, h.keep);
    if (h.keep) { for (const s of h.spans) this.next.onEnd(asSampled(s)); }
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
