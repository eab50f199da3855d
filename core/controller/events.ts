/**
 * Kubernetes Events for users (`kubectl describe`). Recording never blocks a reconcile: events are written in the
 * background. An Event is a series per (object, reason, message), named deterministically, so that:
 * - an unchanged Warning is written once, then its count is bumped at most every 10 minutes (client-go's
 *   spam-filter idea), however often reconciles see it again;
 * - a Normal repeat (a leader moving back) bumps the count of the Event already written;
 * - after a restart the same series is found by its name (AlreadyExists) and continued, not duplicated;
 * - an object gets at most a few new Warning messages per reason in 10 minutes, so a value that changes on
 *   every edit cannot flood the API server either.
 */
import { LRUCache } from "lru-cache";
import type { Logger } from "../log.ts";
import type { KubeObject } from "../kube/types.ts";
import { isAlreadyExists } from "../kube/errors.ts";

export type EventType = "Normal" | "Warning";

export interface EventTarget {
  kind: string;
  apiVersion?: string;
  namespace: string;
  name: string;
  uid?: string;
}

/** The Event target for a Service (the source Service Events are recorded on). */
export function serviceTarget(svc: KubeObject): EventTarget {
  return {
    kind: "Service",
    namespace: svc.metadata.namespace ?? "",
    name: svc.metadata.name ?? "",
    uid: svc.metadata.uid,
  };
}

/** What the recorder needs from the API: create an Event, read one, or patch the count of one. */
export interface EventSink {
  create(
    namespace: string,
    event: KubeObject & Record<string, unknown>,
  ): Promise<{ metadata: { name?: string } }>;
  /** The Event `name`, or undefined when there is none. */
  get(namespace: string, name: string): Promise<{ count?: number; lastTimestamp?: string } | undefined>;
  patchCount(namespace: string, name: string, count: number, lastTimestamp: string): Promise<void>;
}

export interface EventRecorder {
  record(target: EventTarget, type: EventType, reason: string, message: string): void;
}

interface Series {
  key: string;
  name: string;
  count: number;
  /** When the API last saw this series (create or count bump). */
  writtenAt: number;
  /** A create or bump is in flight; repeats meanwhile only count. */
  busy: boolean;
  /** When this process last recorded it. */
  seenAt: number;
  /** The count the API holds (as far as this process knows). */
  writtenCount: number;
}

/** How long an unchanged Warning waits before its count is written again. */
export const REPEAT_WINDOW_MS = 10 * 60_000;
/** New Warning messages per (object, reason) per window; more are logged at debug level only. */
export const NEW_WARNINGS_PER_WINDOW = 20;
/** How often idle series are looked for. */
const IDLE_SWEEP_MS = 60_000;
/** The longest message written; Kubernetes cuts Event messages at 1 KiB. */
export const MAX_MESSAGE = 1024;

/** 64-bit FNV-1a as 16 hex digits: a stable Event name suffix for one series. */
export function seriesHash(text: string): string {
  let h1 = 0x811c9dc5, h2 = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c ^ (h1 >>> 7), 0x01000193) >>> 0;
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0");
}

function cut(message: string): string {
  return message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 3) + "..." : message;
}

export class KubeEventRecorder implements EventRecorder {
  // Bounded: every failover adds a distinct message, so this is where a long churn would otherwise grow.
  private readonly series = new LRUCache<string, Series>({ max: 5_000 });
  private readonly newWarnings = new LRUCache<string, { since: number; count: number }>({ max: 5_000 });
  private pending = 0;
  private sweptAt = -Infinity;

  constructor(
    private readonly sink: EventSink,
    private readonly logger: Logger,
    private readonly component = "zen-lead",
    private readonly host = Deno.hostname(),
    private readonly now: () => number = Date.now,
  ) {}

  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    const text = cut(message);
    const who = target.uid ?? `${target.namespace}/${target.name}`;
    const key = `${who}\u0000${reason}\u0000${text}`;
    const now = this.now();
    this.dropIdle(now);
    const known = this.series.get(key);
    if (known) {
      known.seenAt = now;
      known.count++;
      const due = type === "Normal" || now - known.writtenAt >= REPEAT_WINDOW_MS;
      if (!due || known.busy) return;
      this.log(target, type, reason, text, known.count);
      this.bump(target.namespace, known, now);
      return;
    }
    if (type === "Warning" && !this.admitNew(`${who}\u0000${reason}`, now)) {
      this.logger.debug("event suppressed: too many new warnings for this object and reason", {
        event: reason,
        namespace: target.namespace,
        name: target.name,
      });
      return;
    }
    const entry: Series = {
      key,
      name: `${target.name}.${seriesHash(key)}`,
      count: 1,
      writtenAt: now,
      busy: true,
      seenAt: now,
      writtenCount: 1,
    };
    this.series.set(key, entry);
    this.log(target, type, reason, text, 1);
    this.background(this.create(target, type, reason, text, entry, now));
  }

  /** At most NEW_WARNINGS_PER_WINDOW distinct warning messages per object and reason per window. */
  private admitNew(key: string, now: number): boolean {
    const w = this.newWarnings.get(key);
    if (!w || now - w.since >= REPEAT_WINDOW_MS) {
      this.newWarnings.set(key, { since: now, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= NEW_WARNINGS_PER_WINDOW;
  }

  private log(target: EventTarget, type: EventType, reason: string, message: string, count: number): void {
    const fields = {
      event: reason,
      namespace: target.namespace,
      kind: target.kind,
      name: target.name,
      count,
    };
    if (type === "Warning") this.logger.warn(message, fields);
    else this.logger.info(message, fields);
  }

  private async create(
    target: EventTarget,
    type: EventType,
    reason: string,
    message: string,
    entry: Series,
    now: number,
  ): Promise<void> {
    const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
    try {
      await this.sink.create(target.namespace, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: entry.name, namespace: target.namespace },
        involvedObject: {
          apiVersion: target.apiVersion ?? "v1",
          kind: target.kind,
          namespace: target.namespace,
          name: target.name,
          uid: target.uid,
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        source: { component: this.component, host: this.host },
        reportingComponent: this.component,
        reportingInstance: this.host,
      });
      entry.busy = false;
    } catch (error) {
      if (!isAlreadyExists(error)) {
        // Not written: forget the series so the next reconcile tries again.
        this.forget(entry);
        throw error;
      }
      // Written before (this process or one before a restart): continue that series instead of a duplicate.
      const existing = await this.sink.get(target.namespace, entry.name);
      entry.count += existing?.count ?? 1;
      const last = Date.parse(existing?.lastTimestamp ?? "");
      entry.busy = false;
      if (type === "Warning" && Number.isFinite(last) && now - last < REPEAT_WINDOW_MS) {
        entry.count--; // this sighting is the one already written
        entry.writtenAt = last;
        entry.writtenCount = entry.count;
        return;
      }
      this.bump(target.namespace, entry, now);
    }
  }

  private bump(namespace: string, entry: Series, now: number): void {
    entry.busy = true;
    entry.writtenAt = now;
    const count = entry.count;
    entry.writtenCount = count;
    this.background(
      this.sink.patchCount(
        namespace,
        entry.name,
        count,
        new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z"),
      )
        .finally(() => entry.busy = false),
    );
  }

  /**
   * Series not seen for a repeat window whose count the API already holds are dropped (a sweep a minute, least
   * recently seen first), so churn's stream of distinct messages plateaus instead of filling the cap. A later
   * repeat finds the Event by its name and continues it, as after a restart.
   */
  private dropIdle(now: number): void {
    if (now - this.sweptAt < IDLE_SWEEP_MS) return;
    this.sweptAt = now;
    const idle: string[] = [];
    for (const key of this.series.rkeys()) {
      const entry = this.series.peek(key);
      if (!entry) continue;
      if (now - entry.seenAt < REPEAT_WINDOW_MS) break;
      if (!entry.busy && entry.count === entry.writtenCount) idle.push(key);
    }
    for (const key of idle) this.series.delete(key);
  }

  private forget(entry: Series): void {
    if (this.series.get(entry.key) === entry) this.series.delete(entry.key);
  }

  private background(p: Promise<unknown>): void {
    this.pending++;
    p.catch((e) => this.logger.warn("could not write event", { error: e }))
      .finally(() => this.pending--);
  }

  /** Events still being written (tests and shutdown wait for zero). */
  get inFlight(): number {
    return this.pending;
  }
}
