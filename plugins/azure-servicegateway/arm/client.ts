/**
 * A small ARM client on @azure/core-rest-pipeline: api-version on every call, a per-attempt timeout, retries of
 * 5xx answers and of network errors that cannot duplicate a write (network_retry.ts), the throttling gate, and
 * long-running operations in the three shapes ARM uses. Requests go out through FetchHttpClient.
 */
import {
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  exponentialRetryPolicy,
  type HttpClient,
  type Pipeline,
  type PipelineResponse,
  RestError,
} from "@azure/core-rest-pipeline";
import { armTracingPolicy } from "./tracing.ts";
import type { TokenCredential } from "@azure/identity";
import { type Clock, parseRetryAfter, realClock, sleep } from "../../../mod.ts";
import { bearerPolicy } from "./credential.ts";
import { ArmError } from "./errors.ts";
import { FetchHttpClient, NETWORK_CODES } from "./fetch_client.ts";
import { networkRetryPolicy } from "./network_retry.ts";
import type { ArmErrorBody, AsyncOperationStatus, ListResult } from "./shapes.ts";
import { ThrottleGate, type ThrottleObserver, throttlingGatePolicy } from "./throttle.ts";

export interface ArmClientOptions {
  /** e.g. https://management.azure.com, or the emulator's http://127.0.0.1:port. */
  endpoint: string;
  apiVersion: string;
  credential: TokenCredential;
  /** Token scope; defaults to `<endpoint>/.default`. */
  scope?: string;
  requestTimeoutMs: number;
  /** Bound on one long-running operation, polls included. */
  lroTimeoutMs: number;
  /** Poll interval when the answer carries no Retry-After. */
  pollIntervalMs: number;
  maxRetries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** Cap on one throttling wait, and how many 429s one call absorbs before it fails. */
  maxThrottleWaitMs: number;
  throttleAttempts: number;
  clock?: Clock;
  observer?: ThrottleObserver;
  httpClient?: HttpClient;
}

export interface ArmResponse<T> {
  status: number;
  body: T | undefined;
  headers: { get(name: string): string | undefined };
}

function isLoopback(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
}

export class ArmClient {
  private readonly pipeline: Pipeline;
  private readonly http: HttpClient;
  private readonly clock: Clock;
  private readonly origin: URL;
  readonly gate: ThrottleGate;

  constructor(private readonly opts: ArmClientOptions) {
    this.clock = opts.clock ?? realClock;
    this.origin = new URL(opts.endpoint);
    if (this.origin.protocol !== "https:" && !isLoopback(this.origin)) {
      throw new Error(
        `azure-servicegateway option armEndpoint: expected an https URL (plain http only for 127.0.0.1/localhost), ` +
          `received ${opts.endpoint}`,
      );
    }
    this.gate = new ThrottleGate(this.clock, opts.maxThrottleWaitMs);
    this.http = opts.httpClient ?? new FetchHttpClient();
    this.pipeline = createEmptyPipeline();
    // Outermost first: wait at the gate, then retry transient failures, each attempt with a fresh token.
    this.pipeline.addPolicy(
      throttlingGatePolicy(this.gate, this.clock, {
        maxAttempts: opts.throttleAttempts,
        defaultWaitMs: 1_000,
        observer: opts.observer,
      }),
    );
    this.pipeline.addPolicy(
      exponentialRetryPolicy({
        maxRetries: opts.maxRetries,
        retryDelayInMs: opts.retryDelayMs,
        maxRetryDelayInMs: opts.maxRetryDelayMs,
      }),
    );
    this.pipeline.addPolicy(
      networkRetryPolicy(this.clock, {
        maxRetries: opts.maxRetries,
        retryDelayMs: opts.retryDelayMs,
        maxRetryDelayMs: opts.maxRetryDelayMs,
      }),
    );
    const scope = opts.scope ?? `${this.origin.origin}/.default`;
    this.pipeline.addPolicy(bearerPolicy(opts.credential, scope, () => this.clock.now()));
    this.pipeline.addPolicy(armTracingPolicy());
  }

  /** Absolute URL of a resource path, with api-version. */
  urlOf(path: string): string {
    const url = new URL(path, this.origin);
    if (!url.searchParams.has("api-version")) url.searchParams.set("api-version", this.opts.apiVersion);
    return url.toString();
  }

  /** One call (retries and throttling included); any status >= 400 becomes an ArmError. */
  async call<T>(
    method: string,
    pathOrUrl: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<ArmResponse<T>> {
    const url = this.urlOf(pathOrUrl);
    const request = createPipelineRequest({
      url,
      method: method as "GET",
      headers: createHttpHeaders({ accept: "application/json" }),
      timeout: this.opts.requestTimeoutMs,
      abortSignal: signal,
      allowInsecureConnection: isLoopback(this.origin),
    });
    if (body !== undefined) {
      request.body = JSON.stringify(body);
      request.headers.set("content-type", "application/json");
    }
    const path = new URL(url).pathname;
    let response: PipelineResponse;
    try {
      response = await this.pipeline.sendRequest(this.http, request);
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      throw this.sendFailure(method, path, err);
    }
    const parsed = parseJson(response.bodyAsText ?? undefined);
    if (response.status >= 400) {
      const e = (parsed as ArmErrorBody | undefined)?.error;
      throw new ArmError(
        method,
        path,
        response.status,
        e?.code ?? `HTTP${response.status}`,
        e?.message ?? "no details",
      );
    }
    return {
      status: response.status,
      body: parsed as T | undefined,
      headers: { get: (n) => response.headers.get(n) },
    };
  }

  /** A request that got no answer, described as what happened: refused, reset, timed out. */
  private sendFailure(method: string, path: string, err: unknown): ArmError {
    const code = isRestErrorLike(err) ? err.code : undefined;
    const detail = err instanceof Error ? err.message : String(err);
    const what = code === NETWORK_CODES.timeout
      ? `no answer within ${this.opts.requestTimeoutMs}ms`
      : code === NETWORK_CODES.refused
      ? `connection refused by ${this.origin.host}: ${detail}`
      : code === NETWORK_CODES.reset
      ? `connection reset before the answer: ${detail}`
      : `request failed: ${detail}`;
    return new ArmError(method, path, 0, code ?? "RequestFailed", what);
  }

  /** GET a resource; undefined when it does not exist. */
  async get<T>(path: string, signal: AbortSignal): Promise<T | undefined> {
    try {
      return (await this.call<T>("GET", path, undefined, signal)).body;
    } catch (err) {
      if (err instanceof ArmError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Every page of an ARM list, following nextLink (bounded, so a looping nextLink cannot run forever). */
  async list<T>(path: string, signal: AbortSignal, maxPages = 1000): Promise<T[]> {
    const out: T[] = [];
    let next: string | undefined = path;
    for (let page = 0; next && page < maxPages; page++) {
      const res: ArmResponse<ListResult<T>> = await this.call<ListResult<T>>(
        "GET",
        this.sameOrigin(next),
        undefined,
        signal,
      );
      out.push(...(res.body?.value ?? []));
      next = res.body?.nextLink;
    }
    return out;
  }

  /** PUT and wait for the operation; returns the resource as it is afterwards. */
  async put<T>(path: string, body: unknown, signal: AbortSignal): Promise<T> {
    const first = await this.call<T>("PUT", path, body, signal);
    const polled = first.headers.get("azure-asyncoperation") || first.status === 202;
    const fromOperation = await this.awaitOperation<T>("PUT", path, first, signal);
    if (!polled && first.body !== undefined) return first.body;
    // ARM's convention for a PUT that ran long: the resource's final state is read back from its own URL.
    const final = (await this.get<T>(path, signal)) ?? fromOperation;
    if (final === undefined) {
      throw new ArmError("PUT", path, 0, "MissingResource", "resource absent after success");
    }
    return final;
  }

  /** POST an action and wait for it. */
  async post(path: string, body: unknown, signal: AbortSignal): Promise<void> {
    const first = await this.call<unknown>("POST", path, body, signal);
    await this.awaitOperation("POST", path, first, signal);
  }

  /** DELETE and wait; a resource already gone counts as deleted. */
  async delete(path: string, signal: AbortSignal): Promise<void> {
    let first: ArmResponse<unknown>;
    try {
      first = await this.call<unknown>("DELETE", path, undefined, signal);
    } catch (err) {
      if (err instanceof ArmError && err.status === 404) return;
      throw err;
    }
    await this.awaitOperation("DELETE", path, first, signal);
  }

  /**
   * Follows a long-running operation: Azure-AsyncOperation (status body; "Failed" is a failure even on HTTP 200),
   * else Location (202 while running). Polling headers count even on an immediate 200.
   */
  async awaitOperation<T>(
    method: string,
    path: string,
    first: ArmResponse<T>,
    signal: AbortSignal,
  ): Promise<T | undefined> {
    const asyncUrl = first.headers.get("azure-asyncoperation");
    const locationUrl = first.headers.get("location");
    if (!asyncUrl && !(locationUrl && first.status === 202)) return first.body;
    const deadline = this.clock.now() + this.opts.lroTimeoutMs;
    let last: ArmResponse<unknown> = first;
    while (this.clock.now() < deadline) {
      const retryAfter = parseRetryAfter(last.headers.get("retry-after"), Date.now());
      const wait = Math.min(retryAfter ?? this.opts.pollIntervalMs, Math.max(0, deadline - this.clock.now()));
      await sleep(wait, signal, this.clock);
      if (asyncUrl) {
        last = await this.call<AsyncOperationStatus>("GET", this.sameOrigin(asyncUrl), undefined, signal);
        const status = (last.body as AsyncOperationStatus | undefined)?.status;
        if (status === "Succeeded") return undefined;
        if (status === "Failed" || status === "Canceled") {
          const e = (last.body as AsyncOperationStatus).error;
          throw new ArmError(
            method,
            path,
            last.status,
            e?.code ?? status,
            e?.message ?? `operation ${status}`,
          );
        }
      } else {
        last = await this.call<T>("GET", this.sameOrigin(locationUrl!), undefined, signal);
        if (last.status !== 202) return last.body as T | undefined;
      }
    }
    throw new ArmError(
      method,
      path,
      0,
      "OperationTimeout",
      `operation not finished after ${this.opts.lroTimeoutMs}ms`,
    );
  }

  /** Polling and paging URLs must stay on the ARM endpoint: the bearer token goes with them. */
  private sameOrigin(url: string): string {
    const u = new URL(url, this.origin);
    if (u.origin !== this.origin.origin) {
      throw new Error(
        `ARM returned a URL on ${u.origin}, expected ${this.origin.origin}; refusing to send the token`,
      );
    }
    return u.toString();
  }
}

function isRestErrorLike(err: unknown): err is RestError {
  return err instanceof RestError || (err instanceof Error && err.name === "RestError");
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
