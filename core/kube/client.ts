/**
 * The one way zen-lead talks to the API server: JSON requests with a timeout, a global token-bucket rate limit,
 * retries with backoff for transient failures of idempotent calls, per-operation metrics, and raw streaming
 * watches. What each typed operation sends is in requests.ts.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { Random } from "../time/backoff.ts";
import { sleep } from "../time/sleep.ts";
import { errorFromResponse, KubeApiError, networkError } from "./errors.ts";
import type { ResourceType } from "./paths.ts";
import { TokenBucket } from "../time/rate_limit.ts";
import { retryDelay } from "./retry.ts";
import { Reachability } from "./reachability.ts";
import {
  type CallOptions,
  createRequest,
  type DeleteOptions,
  deleteRequest,
  getRequest,
  type KubeRequest,
  type ListOptions,
  listRequest,
  mergePatchRequest,
  type Query,
  queryString,
  replaceRequest,
  type WriteOptions,
} from "./requests.ts";
import { HttpTransport, type RawRequest } from "./transport.ts";
import type { ClusterCredentials } from "./kubeconfig.ts";
import type { KubeObject, ObjectList, WatchEvent } from "./types.ts";
import { watchEvents, type WatchIo, type WatchOptions } from "./watch_call.ts";
import { timeoutSignal } from "../timers.ts";
import { endHttpSpan, startHttpSpan, traceHeaders } from "../tracing/spans.ts";

export interface KubeClientOptions {
  metrics: MetricsRegistry;
  logger?: Logger;
  /** Requests per second toward the API server (`--qps`, default 50); 0 disables the limit. */
  qps?: number;
  /** Requests allowed at once above qps (`--burst`, default 100). */
  burst?: number;
  /** Per-attempt timeout of a request (default 10 s); for a watch, the wait for response headers. */
  timeoutMs?: number;
  /** Retries of a transient failure (default 3). */
  maxRetries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Cap on a server's Retry-After (default 30 s). */
  maxRetryAfterMs?: number;
  userAgent?: string;
  random?: Random;
  /** Export zen_lead_api_server_unreachable for this client (default true; one client per process should). */
  reportReachability?: boolean;
}

export class KubeClient {
  private readonly limiter: TokenBucket;
  private timeoutMs: number;
  private readonly maxRetries: number;
  private readonly userAgent: string;
  private readonly metrics;
  /** Whether the API server answers this client (see core/kube/reachability.ts). */
  readonly reachability: Reachability;

  constructor(private readonly transport: HttpTransport, private readonly opts: KubeClientOptions) {
    this.reachability = new Reachability(
      () => this.probeReady(),
      opts.reportReachability === false ? undefined : opts.metrics,
    );
    this.limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxRetries = opts.maxRetries ?? 3;
    this.userAgent = opts.userAgent ?? "zen-lead/0.1.0";
    const labelNames = ["operation"];
    this.metrics = {
      duration: opts.metrics.histogram({
        name: "zen_lead_api_call_duration_seconds",
        help: "Duration of one attempt of a Kubernetes API call.",
        labelNames,
      }),
      retries: opts.metrics.counter({
        name: "zen_lead_retry_attempts_total",
        help: "Retries of Kubernetes API calls after a transient failure.",
        labelNames,
      }),
      successAfterRetry: opts.metrics.counter({
        name: "zen_lead_retry_success_after_retry_total",
        help: "Kubernetes API calls that succeeded after at least one retry.",
        labelNames,
      }),
    };
  }

  /** A client for the kubeconfig's current context (`KubeConfig.loadFromDefault()` or `loadFromCluster()`). */
  static async fromKubeConfig(kc: KubeConfig, opts: KubeClientOptions): Promise<KubeClient> {
    return new KubeClient(await HttpTransport.fromKubeConfig(kc), opts);
  }

  /** A client for credentials from core/kube/kubeconfig.ts (the controller's way: no client-node loaded). */
  static async fromCredentials(
    credentials: ClusterCredentials,
    opts: KubeClientOptions,
  ): Promise<KubeClient> {
    return new KubeClient(await HttpTransport.fromCredentials(credentials), opts);
  }

  /** The API server's base URL. */
  get server(): URL {
    return this.transport.server;
  }

  /** Changes the default per-request timeout at run time (configuration reload). */
  setTimeout(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
  }

  /** Changes the global rate limit at run time (configuration reload). */
  setRateLimit(qps: number, burst: number): void {
    this.limiter.setRate(qps, burst);
  }

  /** GET /readyz (open to every user): its status, 0 when unreachable within a second. */
  private async probeReady(): Promise<number> {
    try {
      const res = await this.transport.send(
        this.rawRequest({ operation: "readyz", method: "GET", path: "/readyz" }, AbortSignal.timeout(1000)),
      );
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Closes idle connections. */
  close(): void {
    this.transport.close();
  }

  /** One JSON call, rate limited, with a timeout per attempt and retries for transient failures. */
  async request<T>(r: KubeRequest): Promise<T> {
    const idempotent = r.idempotent ?? r.method !== "POST";
    const maxRetries = r.maxRetries ?? this.maxRetries;
    let retries = 0;
    let reauthenticated = false;
    for (;;) {
      try {
        const result = await this.attempt<T>(r, retries);
        if (retries > 0) this.metrics.successAfterRetry.inc({ operation: r.operation });
        return result;
      } catch (error) {
        if (r.signal?.aborted) throw r.signal.reason;
        // A rotated token: re-read credentials once before giving up.
        if (error instanceof KubeApiError && error.status === 401 && !reauthenticated) {
          reauthenticated = true;
          this.transport.invalidateAuth();
          continue;
        }
        const delayMs = retryDelay(error, {
          idempotent,
          retries,
          maxRetries,
          backoff: { baseMs: this.opts.retryBaseMs ?? 200, maxMs: this.opts.retryMaxMs ?? 5_000 },
          maxRetryAfterMs: this.opts.maxRetryAfterMs ?? 30_000,
          random: this.opts.random,
        });
        if (delayMs === undefined) throw error;
        retries++;
        this.metrics.retries.inc({ operation: r.operation });
        this.opts.logger?.debug("retrying Kubernetes API call", {
          operation: r.operation,
          retry: retries,
          delayMs,
          error,
        });
        await sleep(delayMs, r.signal);
      }
    }
  }

  get<T extends KubeObject>(res: ResourceType, namespace: string, name: string, o?: CallOptions): Promise<T> {
    return this.request<T>(getRequest(res, namespace, name, o));
  }

  list<T extends KubeObject>(
    res: ResourceType,
    l: ListOptions = {},
    o?: CallOptions,
  ): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>(listRequest(res, l, o));
  }

  create<T extends KubeObject>(res: ResourceType, obj: T, o?: WriteOptions): Promise<T> {
    return this.request<T>(createRequest(res, obj, o));
  }

  /** PUT: with `metadata.resourceVersion` set, fails with a conflict when the object changed meanwhile. */
  replace<T extends KubeObject>(res: ResourceType, obj: T, o?: WriteOptions): Promise<T> {
    return this.request<T>(replaceRequest(res, obj, o));
  }

  /** JSON merge patch (RFC 7386): `null` deletes a field; lists are replaced whole. */
  mergePatch<T extends KubeObject>(
    res: ResourceType,
    namespace: string,
    name: string,
    patch: unknown,
    o?: WriteOptions,
  ): Promise<T> {
    return this.request<T>(mergePatchRequest(res, namespace, name, patch, o));
  }

  delete(res: ResourceType, namespace: string, name: string, o?: DeleteOptions): Promise<unknown> {
    return this.request<unknown>(deleteRequest(res, namespace, name, o));
  }

  /** A raw watch (`?watch=true`); see watchEvents in watch_call.ts. */
  watch<T>(
    path: string,
    query: Query,
    signal: AbortSignal,
    o?: WatchOptions,
  ): AsyncGenerator<WatchEvent<T>> {
    const io: WatchIo = {
      limiter: this.limiter,
      transport: this.transport,
      reachability: this.reachability,
      duration: this.metrics.duration,
      timeoutMs: () => this.timeoutMs,
      rawRequest: (r, s) => this.rawRequest(r, s),
      noteStatus: (status) => this.noteStatus(status),
    };
    return watchEvents<T>(io, path, query, signal, o);
  }

  /** One attempt; `resendCount` is how many tried before it (its span's http.request.resend_count). */
  private async attempt<T>(r: KubeRequest, resendCount = 0): Promise<T> {
    await this.limiter.take(r.signal);
    // After the rate limiter: the wait there can outlast what the check is about (leadership).
    r.beforeAttempt?.();
    const timeoutMs = r.timeoutMs ?? this.timeoutMs;
    const timeout = timeoutSignal(timeoutMs);
    const signal = r.signal ? AbortSignal.any([r.signal, timeout]) : timeout;
    const errorContext = { operation: r.operation, method: r.method, path: r.path };
    const started = performance.now();
    const span = startHttpSpan(r.method, () => new URL(this.transport.server.origin + r.path), {
      "zen_lead.operation": r.operation,
    }, resendCount);
    const raw = this.rawRequest(r, signal);
    Object.assign(raw.headers, traceHeaders(span));
    let res;
    try {
      res = await this.transport.send(raw);
    } catch (e) {
      endHttpSpan(span, undefined, e);
      if (r.signal?.aborted) throw r.signal.reason;
      this.reachability.failed();
      throw networkError(errorContext, e, timeout.aborted ? timeoutMs : undefined);
    } finally {
      this.metrics.duration.observe({ operation: r.operation }, (performance.now() - started) / 1000);
    }
    endHttpSpan(span, res.status);
    this.noteStatus(res.status);
    if (res.status < 200 || res.status >= 300) {
      throw errorFromResponse(errorContext, res.status, res.body, res.headers["retry-after"]);
    }
    if (!res.body) return undefined as T;
    try {
      return JSON.parse(res.body) as T;
    } catch (e) {
      throw new KubeApiError({
        ...errorContext,
        status: res.status,
        reason: "InvalidResponse",
        serverMessage: `expected a JSON body, received "${res.body.slice(0, 120)}"`,
        cause: e,
      });
    }
  }

  /** 5xx means the server (or its etcd) is in trouble; anything else is an answer. */
  private noteStatus(status: number): void {
    if (status >= 500) this.reachability.failed();
    else this.reachability.answered();
  }

  private rawRequest(
    r: Pick<KubeRequest, "method" | "path" | "query" | "body" | "contentType" | "operation">,
    signal: AbortSignal,
  ): RawRequest {
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": this.userAgent };
    let body: string | undefined;
    if (r.body !== undefined) {
      body = JSON.stringify(r.body);
      headers["Content-Type"] = r.contentType ?? "application/json";
    }
    return { method: r.method, path: r.path + queryString(r.query), headers, body, signal };
  }
}
