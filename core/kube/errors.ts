/** Errors from the API server (or from reaching it), and the predicates callers branch on. */
import { parseRetryAfter } from "../time/retry_after.ts";

/** The `Status` object the API server sends with a failure. */
export interface ApiStatus {
  kind?: "Status";
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; retryAfterSeconds?: number; causes?: { message?: string }[] };
}

export interface KubeApiErrorInit {
  operation: string;
  method: string;
  path: string;
  /** HTTP status; 0 when the API server was not reached or did not answer in time. */
  status: number;
  /** The Status reason (`NotFound`, `Conflict`, `AlreadyExists`, `Expired`, ...), or `NetworkError`/`Timeout`. */
  reason: string;
  /** The API server's message, or the network error's. */
  serverMessage: string;
  /** Seconds the server asked us to wait (Retry-After or details.retryAfterSeconds). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class KubeApiError extends Error {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly reason: string;
  readonly serverMessage: string;
  readonly retryAfterSeconds?: number;

  constructor(init: KubeApiErrorInit) {
    const what = init.status === 0 ? init.reason : `HTTP ${init.status} ${init.reason}`;
    super(`${init.operation} (${init.method} ${init.path}) failed: ${what}: ${init.serverMessage}`, {
      cause: init.cause,
    });
    this.name = "KubeApiError";
    this.operation = init.operation;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.reason = init.reason;
    this.serverMessage = init.serverMessage;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

const reasonByStatus: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** Builds the error for a non-2xx answer from its body (a Status object, or anything else a proxy sent). */
export function errorFromResponse(
  req: { operation: string; method: string; path: string },
  status: number,
  body: string,
  retryAfterHeader?: string | null,
): KubeApiError {
  let parsed: ApiStatus | undefined;
  try {
    const json = JSON.parse(body);
    if (json && typeof json === "object" && json.kind === "Status") parsed = json as ApiStatus;
  } catch {
    // Not JSON: a proxy or load balancer answered; the raw body is the message.
  }
  // Seconds only (no `now`): the API server never sends an HTTP date.
  const headerMs = parseRetryAfter(retryAfterHeader);
  const headerSeconds = headerMs === undefined ? undefined : headerMs / 1000;
  return new KubeApiError({
    ...req,
    status,
    reason: parsed?.reason || reasonByStatus[status] || "Unknown",
    serverMessage: parsed?.message ?? (body.trim().slice(0, 500) || "(empty body)"),
    retryAfterSeconds: headerSeconds ?? parsed?.details?.retryAfterSeconds,
  });
}

/** An ERROR event inside a watch stream, as an error (code 410 means the resourceVersion is too old). */
export function errorFromWatchStatus(
  req: { operation: string; method: string; path: string },
  status: ApiStatus,
): KubeApiError {
  const code = status.code ?? 500;
  return new KubeApiError({
    ...req,
    status: code,
    reason: status.reason || reasonByStatus[code] || "Unknown",
    serverMessage: `watch ERROR event: ${status.message ?? "(no message)"}`,
  });
}

function statusOf(e: unknown): number | undefined {
  return e instanceof KubeApiError ? e.status : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusOf(e) === 404;
}

/** An optimistic-concurrency conflict (stale resourceVersion) on update. */
export function isConflict(e: unknown): boolean {
  return statusOf(e) === 409 && (e as KubeApiError).reason !== "AlreadyExists";
}

export function isAlreadyExists(e: unknown): boolean {
  return statusOf(e) === 409 && (e as KubeApiError).reason === "AlreadyExists";
}

/** The resourceVersion asked for is no longer available (410 Gone / Expired): relist. */
export function isGone(e: unknown): boolean {
  return statusOf(e) === 410;
}

export function isForbidden(e: unknown): boolean {
  return statusOf(e) === 403;
}

/** The API server (or the way to it) failed, not the request: no answer, a timeout, a 5xx or 429. */
export function isUnavailable(e: unknown): boolean {
  const status = statusOf(e);
  return status === 0 || status === 429 || (status !== undefined && status >= 500);
}

/** The error of a call that got no HTTP answer: a Timeout after `timedOutAfterMs`, else a NetworkError. */
export function networkError(
  req: { operation: string; method: string; path: string },
  cause: unknown,
  timedOutAfterMs?: number,
): KubeApiError {
  if (timedOutAfterMs !== undefined) {
    return new KubeApiError({
      ...req,
      status: 0,
      reason: "Timeout",
      serverMessage: `no answer within ${timedOutAfterMs}ms`,
      cause,
    });
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new KubeApiError({ ...req, status: 0, reason: "NetworkError", serverMessage: message, cause });
}
