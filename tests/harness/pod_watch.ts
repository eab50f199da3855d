// A list-then-watch loop over all pods that never goes deaf: our own fetch stream with a stall bound, restarts
// from the last resourceVersion, a relist on 410, and backoff on errors (client-node's Watch drops idle
// connections after ~30 s without calling `done`, so a simulator built on it silently stopped seeing pods).
import type { V1Pod } from "@kubernetes/client-node";
import type { RestClient } from "./rest.ts";

export type PodEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface PodWatchOptions {
  /** Restart a watch that delivered nothing (not even a bookmark) for this long; default 45 s. */
  stallMs?: number;
  /** Server-side timeout of each watch; default 30 s (the server sends a bookmark before it closes). */
  timeoutSeconds?: number;
  onError?(error: unknown): void;
}

/** Calls `onEvent` for every pod (existing ones as ADDED) until `signal` aborts. */
export async function watchAllPods(
  rest: RestClient,
  onEvent: (type: PodEventType, pod: V1Pod) => void,
  signal: AbortSignal,
  opts: PodWatchOptions = {},
): Promise<void> {
  let rv: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    try {
      if (rv === undefined) {
        const list = await rest.request<{ metadata: { resourceVersion: string }; items: V1Pod[] }>(
          "GET",
          "/api/v1/pods",
          { signal },
        );
        for (const pod of list.items) onEvent("ADDED", pod);
        rv = list.metadata.resourceVersion;
      }
      rv = await watchOnce(rest, rv, onEvent, signal, opts);
      failures = 0;
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof Gone) {
        rv = undefined;
        continue;
      }
      failures++;
      if (failures > 1) opts.onError?.(error); // one failed stream end is routine (server timeouts)
      await sleepUnless(Math.min(5000, 200 * 2 ** Math.min(failures, 5)), signal);
    }
  }
}

class Gone extends Error {}

/** One watch from `rv`; resolves to the last resourceVersion seen when the server or the stall bound ends it. */
async function watchOnce(
  rest: RestClient,
  rv: string,
  onEvent: (type: PodEventType, pod: V1Pod) => void,
  signal: AbortSignal,
  opts: PodWatchOptions,
): Promise<string> {
  const stream = new AbortController();
  const both = AbortSignal.any([signal, stream.signal]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stream.abort(new Error("pod watch stalled")), opts.stallMs ?? 45_000);
  };
  arm();
  try {
    const res = await rest.open("GET", "/api/v1/pods", {
      watch: true,
      allowWatchBookmarks: true,
      resourceVersion: rv,
      timeoutSeconds: opts.timeoutSeconds ?? 30,
    }, both);
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body!) {
      arm();
      buf += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const event = JSON.parse(line) as { type: string; object: V1Pod & { code?: number } };
        if (event.type === "ERROR") {
          if (event.object.code === 410) throw new Gone("resourceVersion too old");
          throw new Error(`pod watch ERROR event: ${line.slice(0, 300)}`);
        }
        rv = event.object.metadata?.resourceVersion ?? rv;
        if (event.type !== "BOOKMARK") onEvent(event.type as PodEventType, event.object);
      }
    }
    return rv;
  } catch (error) {
    // The stall bound ended it: resume from where it stopped.
    if (stream.signal.aborted && !signal.aborted) return rv;
    throw error;
  } finally {
    clearTimeout(timer);
    stream.abort();
  }
}

function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
