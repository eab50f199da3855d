/**
 * The service updater: walks the book's records, asks the state machine which operation each needs, and runs
 * at most maxInFlight of them (create, update, delete) against the gateway. Each operation carries a generation
 * token; its completion goes back through the state machine. Failures back off; parked ones are reported.
 */
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { TimerHandle } from "../../../mod.ts";
import { failureOf } from "../arm/errors.ts";
import type { ServiceSpec } from "../arm/gateway_api.ts";
import type { ServiceBook } from "./book.ts";
import type { EngineContext } from "./context.ts";
import type { LocationsUpdater } from "./locations_updater.ts";
import {
  begin,
  type Completion,
  fail,
  nextAction,
  type OperationKind,
  type ServiceRecord,
  succeed,
} from "./service_state.ts";

const tracer = trace.getTracer("zen-lead/azure-servicegateway");

type Outcome = { ok: true; frontendIP?: string } | { ok: false; err: unknown };

export class ServiceUpdater {
  private readonly inflight = new Set<Promise<void>>();
  private tokens = 0;
  private timer: { id: TimerHandle; at: number } | undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly book: ServiceBook,
    private readonly locations: LocationsUpdater,
    /** Called after a write whose outcome is unknown (no answer, 5xx): the gateway should be re-read. */
    private readonly onUncertainWrite: () => void,
  ) {}

  get size(): number {
    return this.inflight.size;
  }

  get pending(): Promise<void>[] {
    return [...this.inflight];
  }

  pump(): void {
    const { ctx } = this;
    if (!ctx.running()) return;
    const now = ctx.clock.now();
    let wakeAt = Infinity;
    for (const rec of [...this.book.records.values()].sort((a, b) => a.notBefore - b.notBefore)) {
      if (this.inflight.size >= ctx.config.maxInFlight) break;
      const op = nextAction(rec, {
        now,
        azureReferences: this.locations.references(rec.name),
        addressesUncertain: this.locations.uncertain,
      });
      if (op) this.start(rec, op);
      else if (rec.token === undefined && rec.notBefore > now) wakeAt = Math.min(wakeAt, rec.notBefore);
    }
    this.schedule(wakeAt);
  }

  close(): void {
    if (this.timer) this.ctx.clock.clearTimeout(this.timer.id);
    this.timer = undefined;
  }

  private schedule(at: number): void {
    if (at === Infinity || (this.timer && this.timer.at <= at)) return;
    if (this.timer) this.ctx.clock.clearTimeout(this.timer.id);
    const id = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      this.ctx.kick();
    }, at - this.ctx.clock.now());
    this.timer = { id, at };
  }

  private start(rec: ServiceRecord, op: OperationKind): void {
    const { ctx, book } = this;
    const token = ++this.tokens;
    const started = ctx.clock.now();
    if (rec.attempts > 0) ctx.m.retries.inc({ operation: op });
    book.put(rec.name, begin(rec, op, token, started));
    const spec = book.specs.get(rec.name) ?? { kind: rec.kind, name: rec.name, ports: [] } as ServiceSpec;
    const fields = {
      service: rec.name,
      serviceUID: book.uidOf(rec.name),
      operation: op,
      attempt: rec.attempts + 1,
    };
    ctx.log.info("service operation started", { ...fields, state: book.records.get(rec.name)?.state });
    const run = tracer.startActiveSpan(`servicegateway.${op}`, { attributes: fields }, async (span: Span) => {
      try {
        const result: { frontendIP?: string } = await ctx.withTimeout(
          ctx.config.operationTimeoutMs,
          (signal) =>
            op === "delete"
              ? ctx.api.deleteService(rec.name, rec.kind, signal).then(() => ({}))
              : ctx.api.ensureService(spec, signal),
        );
        this.complete(rec.name, token, op, started, { ok: true, frontendIP: result.frontendIP }, span);
      } catch (err) {
        span.recordException(err instanceof Error ? err : String(err));
        this.complete(rec.name, token, op, started, { ok: false, err }, span);
      } finally {
        span.end();
      }
    });
    const tracked = run.finally(() => {
      this.inflight.delete(tracked);
      ctx.kick();
    });
    this.inflight.add(tracked);
  }

  private complete(
    name: string,
    token: number,
    op: OperationKind,
    started: number,
    outcome: Outcome,
    span: Span,
  ) {
    const { ctx, book } = this;
    const rec = book.records.get(name);
    const now = ctx.clock.now();
    const durationSeconds = (now - started) / 1000;
    const fields = { service: name, serviceUID: book.uidOf(name), operation: op, duration: durationSeconds };
    ctx.m.operationDuration.observe({ operation: op }, durationSeconds);
    ctx.m.operations.inc({ operation: op, status: outcome.ok ? "success" : "failure" });
    if (!rec) {
      ctx.log.warn("completion for an unknown service ignored", fields);
      return;
    }
    let c: Completion & { parked?: boolean };
    const failure = outcome.ok ? undefined : failureOf(outcome.err);
    if (outcome.ok) c = succeed(rec, token, { frontendIP: outcome.frontendIP }, now);
    else c = fail(rec, token, failure!, now, ctx.config.backoff, ctx.random);
    if (c.stale) {
      ctx.log.info("stale completion ignored", { ...fields, token, current: rec.token });
      return;
    }
    // The write may have landed although it failed: compare with the gateway soon, not in minutes.
    if (failure?.uncertain) this.onUncertainWrite();
    if (failure && c.parked) this.reportParked(name, op, failure);
    span.setStatus({ code: outcome.ok ? SpanStatusCode.OK : SpanStatusCode.ERROR });
    book.put(name, c.record);
    const state = c.record?.state ?? "Deleted";
    if (outcome.ok) ctx.log.info("service operation succeeded", { ...fields, state });
    else {
      ctx.log.warn("service operation failed", {
        ...fields,
        state,
        error: (outcome as { err: unknown }).err,
        terminal: c.record?.terminalError !== undefined,
        parked: c.parked,
        retryAt: c.record && c.record.notBefore > now
          ? new Date(c.record.notBefore).toISOString()
          : undefined,
      });
    }
  }

  /** A parked operation is visible: a metric, a Warning Event on the Service, the debug endpoint's `parked`. */
  private reportParked(
    name: string,
    op: OperationKind,
    failure: { message: string; terminal: boolean },
  ): void {
    const { ctx } = this;
    const reason = failure.terminal ? "rejected" : "attempts";
    ctx.m.parked.inc({ operation: op, reason });
    const retryAt = new Date(ctx.clock.now() + ctx.config.backoff.parkMs).toISOString();
    const why = failure.terminal
      ? "ARM refused the request"
      : `${ctx.config.backoff.parkAfterAttempts} attempts failed`;
    ctx.log.error("service operation parked", {
      service: name,
      operation: op,
      reason,
      retryAt,
      error: failure.message,
    });
    const key = this.book.keyByName.get(name);
    if (!key) return;
    this.book.emit(key, {
      ingress: [],
      warning: {
        reason: "ServiceGatewayOperationParked",
        message: `Azure service gateway ${op} of ${name} parked until ${retryAt}: ${why}: ${failure.message}`,
      },
    });
  }
}
