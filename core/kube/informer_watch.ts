/** One watch stream of an informer: opened with bookmarks and a server-side timeout, ended when it goes silent. */
import type { Random } from "../time/backoff.ts";
import { safeTimeout } from "../timers.ts";
import type { KubeClient } from "./client.ts";
import type { KubeObject, WatchEvent } from "./types.ts";
import { watchTimeoutSeconds } from "./watch_timing.ts";

/** No event and no bookmark within the stall bound: the connection is taken for dead. */
export class WatchStalled extends Error {}
/** The API server answers again after an outage: a watch that saw nothing since may sit on a dead connection. */
export class WatchAfterOutage extends Error {}

/** A watch in flight, as the informer's outage recovery sees it. */
export interface OpenWatch {
  abort: AbortController;
  lastEventAt: number;
}

export interface WatchOnceOptions<T extends KubeObject> {
  client: KubeClient;
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  stallTimeoutMs: number;
  random: Random;
  /** False for a reopen after the server's clean close: it takes no rate-limit token. */
  rateLimited: boolean;
  /** Registered while the watch runs. */
  openWatches: Set<OpenWatch>;
  /** Applies one ADDED/MODIFIED/DELETED event to the cache (bookmarks only move the resourceVersion). */
  apply(event: WatchEvent<T>): void;
}

/**
 * Watches from `state.resourceVersion` until the server ends the stream (returns), the stream fails, stalls
 * (throws WatchStalled) or is restarted after an outage (throws WatchAfterOutage). `state` follows every event
 * and bookmark, so the caller can resume from it whatever happened.
 */
export async function watchOnce<T extends KubeObject>(
  o: WatchOnceOptions<T>,
  state: { resourceVersion: string; events: number },
  signal: AbortSignal,
): Promise<void> {
  const watchAbort = new AbortController();
  const onAbort = () => watchAbort.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  // Armed once the server accepted the watch, re-armed by every event or bookmark.
  const armStallTimer = () => {
    clearTimeout(stallTimer);
    stallTimer = safeTimeout(() => watchAbort.abort(new WatchStalled("watch stalled")), o.stallTimeoutMs);
  };
  const open: OpenWatch = { abort: watchAbort, lastEventAt: Date.now() };
  o.openWatches.add(open);
  try {
    const events = o.client.watch<T>(
      o.path,
      {
        resourceVersion: state.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: watchTimeoutSeconds(o.stallTimeoutMs, o.random),
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
      },
      watchAbort.signal,
      { rateLimited: o.rateLimited, onOpen: armStallTimer, timeoutMs: o.stallTimeoutMs },
    );
    for await (const event of events) {
      if (watchAbort.signal.aborted) break;
      armStallTimer();
      open.lastEventAt = Date.now();
      state.events++;
      if (event.type !== "BOOKMARK") o.apply(event);
      const rv = event.object?.metadata?.resourceVersion;
      if (rv) state.resourceVersion = rv;
    }
    const reason = watchAbort.signal.reason;
    if (!signal.aborted && (reason instanceof WatchStalled || reason instanceof WatchAfterOutage)) {
      throw reason;
    }
  } finally {
    o.openWatches.delete(open);
    clearTimeout(stallTimer);
    signal.removeEventListener("abort", onAbort);
  }
}
