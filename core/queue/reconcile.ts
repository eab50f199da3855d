/**
 * The generic reconcile around a work queue handler: a reconcile ID in every log line, the reconcile metrics, the
 * requeue a reconcile asks for, and which errors end a key's run without a retry (after controller-runtime's).
 */
import type { Logger } from "../log.ts";
import type { WorkContext, WorkHandler, WorkResult } from "./workqueue.ts";

export interface ReconcileRun {
  reconcileID: string;
  /** The queue's logger with `reconcileID` and `key` on every line. */
  log: Logger;
  signal: AbortSignal;
}

/** How an error that is not a plain failure is counted and handled. */
export interface ErrorOutcome {
  /** The `result` label it is counted under. */
  result: string;
  /** False: terminal, the key is not retried (an event brings it back). True: retried with backoff. */
  retry: boolean;
  /** Logged at info level (an expected error) instead of as a failure. */
  note?: { message: string; fields?: Record<string, unknown> };
  /** Runs once it is counted and noted (e.g. holds the key until what it waits for is back). */
  then?(): void;
}

export interface ReconcileWrapperOptions {
  reconcile(key: string, run: ReconcileRun): Promise<{ requeueAfterMs?: number }>;
  logger: Logger;
  metrics: {
    reconciliations: { inc(labels: { result: string }): void };
    reconcileDuration: { observe(labels: undefined, seconds: number): void };
  };
  /** Errors that are not failures; undefined for a failure (counted as "error", logged, retried with backoff). */
  classify?(error: unknown, key: string): ErrorOutcome | undefined;
  /** Runs a reconcile inside whatever carries its ID further (a trace span). */
  around?<T>(key: string, reconcileID: string, run: () => Promise<T>): Promise<T>;
  /** After every successful reconcile. */
  onSuccess?(key: string): void;
}

/** A work queue handler that runs `reconcile` with an ID, counts and times it, and maps its result and errors. */
export function reconcileHandler(o: ReconcileWrapperOptions): WorkHandler {
  const around = o.around ?? ((_key, _id, run) => run());
  return async (key: string, ctx: WorkContext): Promise<WorkResult> => {
    const started = performance.now();
    const reconcileID = crypto.randomUUID().slice(0, 8);
    try {
      const r = await around(
        key,
        reconcileID,
        () =>
          o.reconcile(key, { reconcileID, log: o.logger.child({ reconcileID, key }), signal: ctx.signal }),
      );
      o.metrics.reconciliations.inc({ result: "success" });
      o.onSuccess?.(key);
      return r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : undefined;
    } catch (e) {
      const outcome = o.classify?.(e, key);
      if (!outcome) {
        o.metrics.reconciliations.inc({ result: "error" });
        o.logger.error("reconcile failed", { key, reconcileID, error: e });
        throw e;
      }
      o.metrics.reconciliations.inc({ result: outcome.result });
      if (outcome.note) o.logger.info(outcome.note.message, { key, reconcileID, ...outcome.note.fields });
      outcome.then?.();
      if (outcome.retry) throw e;
      return undefined;
    } finally {
      o.metrics.reconcileDuration.observe(undefined, (performance.now() - started) / 1000);
    }
  };
}
