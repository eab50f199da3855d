/** What a reconcile reports, as a value: the Events, metric updates, log lines and history entry a plan emits. */
import type { Counter, Gauge, Histogram, Labels } from "../metrics/registry.ts";
import type { Logger } from "../log.ts";
import type { LeaderChange } from "../status/model.ts";
import type { LeaderHistory } from "../status/history.ts";
import type { EventRecorder, EventTarget, EventType } from "./events.ts";
import type { ControllerMetrics } from "./metrics.ts";

type Named<T> = {
  [K in keyof ControllerMetrics]: ControllerMetrics[K] extends T ? K : never;
}[keyof ControllerMetrics];

/** One update of a controller metric, named by its key in `controllerMetrics`. */
export type MetricOp =
  | { inc: Named<Counter>; labels?: Labels }
  | { set: Named<Gauge>; labels: Labels; value: number }
  | { remove: Named<Gauge>; labels: Labels }
  | { observe: Named<Histogram>; labels?: Labels; value: number };

/** An Event on the reconciled Service. */
export interface PlannedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export interface Emission {
  metrics: MetricOp[];
  events: PlannedEvent[];
  /** Info-level log lines of this reconcile. */
  logs: { message: string; fields: Record<string, unknown> }[];
  /** A leader change that routed, for the status endpoint and page. */
  change?: LeaderChange;
}

export function emptyEmission(): Emission {
  return { metrics: [], events: [], logs: [] };
}

/** Both emissions in order, `a` first. */
export function concatEmissions(a: Emission, b: Emission): Emission {
  return {
    metrics: [...a.metrics, ...b.metrics],
    events: [...a.events, ...b.events],
    logs: [...a.logs, ...b.logs],
    change: b.change ?? a.change,
  };
}

export interface EmitSinks {
  events: EventRecorder;
  metrics: ControllerMetrics;
  log: Logger;
  history?: LeaderHistory;
}

/** Carries an emission out: metrics first, then the Events on `target` in order, the log lines, the history. */
export function emit(target: EventTarget, e: Emission, to: EmitSinks): void {
  for (const op of e.metrics) {
    if ("inc" in op) to.metrics[op.inc].inc(op.labels);
    else if ("set" in op) to.metrics[op.set].set(op.labels, op.value);
    else if ("remove" in op) to.metrics[op.remove].remove(op.labels);
    else to.metrics[op.observe].observe(op.labels, op.value);
  }
  for (const ev of e.events) to.events.record(target, ev.type, ev.reason, ev.message);
  for (const l of e.logs) to.log.info(l.message, l.fields);
  if (e.change) to.history?.record(e.change);
}
