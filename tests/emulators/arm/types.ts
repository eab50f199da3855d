/** The ARM emulator's vocabulary: its routes, response modes, scripted faults and request log entries. */

export type RouteName =
  | "gateway"
  | "services"
  | "addressLocations"
  | "updateServices"
  | "updateAddressLocations"
  | "publicIPAddresses"
  | "loadBalancers"
  | "natGateways"
  | "operations";

export const WRITE_ROUTES: readonly RouteName[] = [
  "gateway",
  "updateServices",
  "updateAddressLocations",
  "publicIPAddresses",
  "loadBalancers",
  "natGateways",
];

/**
 * How a write answers: `sync` (200/201, no polling), `sync-polling` (200 that still carries
 * Azure-AsyncOperation), `async` (201/202 with Azure-AsyncOperation), `location` (202 with Location).
 */
export type ResponseMode = "sync" | "sync-polling" | "async" | "location";
export const RESPONSE_MODES: readonly ResponseMode[] = ["sync", "sync-polling", "async", "location"];

export interface Fault {
  /** Which route it hits; any when absent. */
  route?: RouteName;
  method?: string;
  /**
   * `error`: answer `status` without applying; `applyThenError`: apply, then answer `status` (the caller
   * cannot know it worked); `hang`: never answer (until close), applying first when `apply` is set;
   * `pollFailed`: accept with 202, do not apply, report Failed on an HTTP 200 poll; `applyLater`: answer
   * `status` now and apply `delayMs` later (a write that lands after the caller was told it failed).
   */
  kind?: "error" | "applyThenError" | "hang" | "pollFailed" | "applyLater";
  delayMs?: number;
  /** Matching requests to let through before it hits; 0 when absent. */
  after?: number;
  status?: number;
  code?: string;
  /** Retry-After header value (seconds or an HTTP date). */
  retryAfter?: string;
  apply?: boolean;
  /** How many matching requests it hits; 1 when absent. */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  route: RouteName | "unknown";
  status: number;
  body?: unknown;
  fault?: Fault["kind"];
  at: number;
}
