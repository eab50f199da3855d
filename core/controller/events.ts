/**
 * Kubernetes Events for users (`kubectl describe`). Recording never blocks a reconcile: events are written in the
 * background, and a repeat of the same (object, reason, message) within the window bumps the count of the event
 * already written instead of creating another, so a flapping condition cannot flood the API server.
 */
import { LRUCache } from "lru-cache";
import type { Logger } from "../log.ts";
import type { KubeObject } from "../kube/types.ts";

export type EventType = "Normal" | "Warning";

export interface EventTarget {
  kind: string;
  apiVersion?: string;
  namespace: string;
  name: string;
  uid?: string;
}

/** What the recorder needs from the API: create an Event, or patch the count of one it made. */
export interface EventSink {
  create(
    namespace: string,
    event: KubeObject & Record<string, unknown>,
  ): Promise<{ metadata: { name?: string } }>;
  patchCount(namespace: string, name: string, count: number, lastTimestamp: string): Promise<void>;
}

export interface EventRecorder {
  record(target: EventTarget, type: EventType, reason: string, message: string): void;
}

interface Seen {
  name?: string;
  count: number;
  first: number;
}

const REPEAT_WINDOW_MS = 10 * 60_000;

export function targetOf(obj: KubeObject): EventTarget {
  return {
    kind: obj.kind ?? "Service",
    apiVersion: obj.apiVersion ?? "v1",
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name ?? "",
    uid: obj.metadata.uid,
  };
}

export class KubeEventRecorder implements EventRecorder {
  // Bounded: every failover adds a distinct message, so this is where a long churn would otherwise grow.
  private readonly seen = new LRUCache<string, Seen>({ max: 2_000, ttl: REPEAT_WINDOW_MS });
  private pending = 0;

  constructor(
    private readonly sink: EventSink,
    private readonly logger: Logger,
    private readonly component = "zen-lead",
    private readonly host = Deno.hostname(),
  ) {}

  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    const log = type === "Warning" ? this.logger.warn : this.logger.info;
    log.call(this.logger, message, {
      event: reason,
      namespace: target.namespace,
      kind: target.kind,
      name: target.name,
    });
    const key = `${target.uid ?? target.namespace + "/" + target.name}\u0000${reason}\u0000${message}`;
    const seen = this.seen.get(key);
    const now = new Date();
    if (seen) {
      seen.count++;
      if (seen.name) {
        this.background(this.sink.patchCount(target.namespace, seen.name, seen.count, now.toISOString()));
      }
      return;
    }
    const entry: Seen = { count: 1, first: now.getTime() };
    this.seen.set(key, entry);
    const stamp = now.toISOString().replace(/\.\d{3}Z$/, "Z");
    this.background(
      this.sink.create(target.namespace, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${target.name}.`, namespace: target.namespace },
        involvedObject: {
          apiVersion: target.apiVersion ?? "v1",
          kind: target.kind,
          namespace: target.namespace,
          name: target.name,
          uid: target.uid,
        },
        reason,
        message: message.length > 1024 ? message.slice(0, 1021) + "..." : message,
        type,
        count: 1,
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        source: { component: this.component, host: this.host },
        reportingComponent: this.component,
        reportingInstance: this.host,
      }).then((e) => {
        entry.name = e.metadata.name;
      }),
    );
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

/** Collects events in memory: for unit tests of code that records events. */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: { target: EventTarget; type: EventType; reason: string; message: string }[] = [];
  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    this.events.push({ target, type, reason, message });
  }
}
