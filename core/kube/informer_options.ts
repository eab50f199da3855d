/** What an informer is given (InformerOptions), hands to handlers, and the metrics every informer shares. */
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { BackoffPolicy, Random } from "../time/backoff.ts";
import type { KubeClient } from "./client.ts";
import type { ResourceType } from "./paths.ts";
import type { KubeObject } from "./types.ts";

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  resource: ResourceType;
  /** Namespaces to watch; empty or absent means cluster-wide (or a cluster-scoped resource). */
  namespaces?: readonly string[];
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * The namespaces watched change at run time through setScopes (starting from `namespaces`, empty meaning none,
   * not cluster-wide); `""` among them is the whole cluster.
   */
  dynamicScopes?: boolean;
  /** Trims an object before it is stored and handed to handlers (drop managedFields, unused spec...). */
  transform?: (obj: T) => T;
  /** Page size of the list (default 500). */
  pageSize?: number;
  /** Timeout of each list page (`--cache-update-timeout-seconds`); read at every list so reloads apply. */
  listTimeoutMs?: () => number;
  /**
   * No event and no bookmark for this long means the watch is dead (default 8 s); each watch asks the server
   * for a timeoutSeconds below it, so idle ones get a bookmark and a clean end in time (watch_timing.ts).
   */
  stallTimeoutMs?: number;
  /** Backoff between failed lists/watches (default 500 ms doubling to 30 s). */
  backoff?: BackoffPolicy;
  logger: Logger;
  metrics: MetricsRegistry;
  random?: Random;
}

/** Why a watch was restarted: the `reason` label of zen_lead_watch_restarts_total. */
export type WatchRestartReason = "stall" | "expired" | "error" | "closed" | "recovered";

/** zen_lead_watch_restarts_total, zen_lead_watch_relists_total and zen_lead_informer_objects. */
export function informerMetrics(m: MetricsRegistry) {
  return {
    restarts: m.counter({
      name: "zen_lead_watch_restarts_total",
      help:
        "Watches restarted, by resource and reason (stall, expired = 410 relist, error, closed by server).",
      labelNames: ["resource", "reason"],
    }),
    relists: m.counter({
      name: "zen_lead_watch_relists_total",
      help:
        "Full lists of a resource (the first one, and every one after a failed, stalled or expired watch).",
      labelNames: ["resource"],
    }),
    objects: m.gauge({
      name: "zen_lead_informer_objects",
      help: "Objects in an informer's cache.",
      labelNames: ["resource"],
    }),
  };
}

/** A transform that drops what zen-lead never reads and costs the most memory. */
export function dropManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as T["metadata"] & { managedFields?: unknown };
  if (meta.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}
