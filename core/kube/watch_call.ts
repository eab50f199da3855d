/** KubeClient's raw streaming watch: opens `?watch=true` under the rate limit and decodes its event stream. */
import type { Histogram } from "../metrics/registry.ts";
import { errorFromResponse, errorFromWatchStatus, KubeApiError, networkError } from "./errors.ts";
import { pathResource } from "./paths.ts";
import type { TokenBucket } from "../time/rate_limit.ts";
import type { Reachability } from "./reachability.ts";
import type { KubeRequest, Query } from "./requests.ts";
import type { HttpTransport, RawRequest } from "./transport.ts";
import type { WatchEvent } from "./types.ts";
import { decodeJsonLines } from "./watch_stream.ts";
import { safeTimeout } from "../timers.ts";

/** The parts of a KubeClient a watch uses. */
export interface WatchIo {
  readonly limiter: TokenBucket;
  readonly transport: HttpTransport;
  readonly reachability: Reachability;
  /** zen_lead_api_call_duration_seconds: a watch observes how long opening it took. */
  readonly duration: Histogram;
  /** The client's current default timeout: the wait for response headers. */
  timeoutMs(): number;
  rawRequest(
    r: Pick<KubeRequest, "method" | "path" | "query" | "operation">,
    signal: AbortSignal,
  ): RawRequest;
  noteStatus(status: number): void;
}

export interface WatchOptions {
  operation?: string;
  timeoutMs?: number;
  /** False: no rate-limit token (the informers' periodic reopens after the server's clean close). */
  rateLimited?: boolean;
  /** Runs once the server accepted the watch (2xx headers): a silence bound starts there, not in the limiter. */
  onOpen?: () => void;
}

/**
 * A raw watch (`?watch=true`): yields events until the server ends the stream (timeoutSeconds), `signal`
 * aborts (then it just returns) or the consumer stops iterating. An ERROR event becomes a thrown
 * `KubeApiError` with the event's code (410 = resourceVersion too old). Only opening the stream is rate limited
 * (see WatchOptions.rateLimited).
 */
export async function* watchEvents<T>(
  io: WatchIo,
  path: string,
  query: Query,
  signal: AbortSignal,
  o?: WatchOptions,
): AsyncGenerator<WatchEvent<T>> {
  const operation = o?.operation ?? `watch_${pathResource(path)}`;
  const errorContext = { operation, method: "GET", path };
  if (o?.rateLimited !== false) await io.limiter.take(signal);
  // Our own controller: aborting it ends the stream when the consumer stops early or headers are late.
  const stream = new AbortController();
  const onAbort = () => stream.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const headerTimeoutMs = o?.timeoutMs ?? io.timeoutMs();
  let headersLate = false;
  const headerTimer = safeTimeout(() => {
    headersLate = true;
    stream.abort(new Error("watch headers timeout"));
  }, headerTimeoutMs);
  try {
    const started = performance.now();
    let res;
    try {
      res = await io.transport.open(
        io.rawRequest(
          { operation, method: "GET", path, query: { ...query, watch: true } },
          stream.signal,
        ),
      );
    } catch (e) {
      if (signal.aborted) return;
      io.reachability.failed();
      throw networkError(errorContext, e, headersLate ? headerTimeoutMs : undefined);
    } finally {
      clearTimeout(headerTimer);
      io.duration.observe({ operation }, (performance.now() - started) / 1000);
    }
    io.noteStatus(res.status);
    if (res.status < 200 || res.status >= 300) {
      const chunks: string[] = [];
      const decoder = new TextDecoder();
      for await (const c of res.body) chunks.push(decoder.decode(c, { stream: true }));
      throw errorFromResponse(
        errorContext,
        res.status,
        chunks.join(""),
        res.headers["retry-after"],
      );
    }
    o?.onOpen?.();
    try {
      for await (const raw of decodeJsonLines(res.body)) {
        const event = raw as WatchEvent<unknown>;
        if (event.type === "ERROR") throw errorFromWatchStatus(errorContext, event.object ?? {});
        yield event as WatchEvent<T>;
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof KubeApiError) throw e;
      io.reachability.failed();
      throw networkError(errorContext, e);
    }
  } finally {
    clearTimeout(headerTimer);
    signal.removeEventListener("abort", onAbort);
    stream.abort(new Error("watch closed"));
  }
}
