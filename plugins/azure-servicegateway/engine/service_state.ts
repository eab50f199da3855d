/**
 * The per-service state machine, as plain functions of plain data. The engine owns the records; these functions
 * only say what a record becomes on an event and which operation it needs next.
 *
 * NotStarted -> CreationInProgress -> Created -> UpdateInProgress -> Created -> DeletionPending ->
 * DeletionInProgress -> (gone, or NotStarted when wanted again).
 */
import { type OperationBackoff, retryAfterFailure } from "./backoff.ts";

export type ServiceState =
  | "NotStarted"
  | "CreationInProgress"
  | "Created"
  | "UpdateInProgress"
  | "DeletionPending"
  | "DeletionInProgress";

export const SERVICE_STATES: readonly ServiceState[] = [
  "NotStarted",
  "CreationInProgress",
  "Created",
  "UpdateInProgress",
  "DeletionPending",
  "DeletionInProgress",
];

/** Inbound: a Service's leader traffic from a public IP; outbound: pod egress through a NAT gateway. */
export type ServiceKind = "inbound" | "outbound";
export type OperationKind = "create" | "update" | "delete";

export interface ServiceRecord {
  /** The service's name in the gateway (prefix + Service UID, or prefix + "egress-" + egress name). */
  readonly name: string;
  readonly kind: ServiceKind;
  readonly state: ServiceState;
  /** Whether Kubernetes wants the service to exist. */
  readonly wantPresent: boolean;
  /** Bumped whenever the wanted spec (ports) changes; `appliedVersion` is the one Azure has. */
  readonly specVersion: number;
  /** -1: unknown (adopted at start), so the first claim re-applies the spec idempotently. */
  readonly appliedVersion: number;
  /** Some of its Azure resources may exist (a failed create can leave a public IP behind). */
  readonly mayExist: boolean;
  /** The gateway has the service registered (a create or update succeeded, or it was listed at start). */
  readonly registered: boolean;
  /** Found in Azure at start and not yet claimed by Kubernetes. */
  readonly adopted: boolean;
  /** Generation token of the operation in flight; completions carrying another token are stale. */
  readonly token?: number;
  readonly opVersion?: number;
  readonly attempts: number;
  /** No operation before this time (backoff). */
  readonly notBefore: number;
  readonly parked: boolean;
  /** A 400/422 answer: the step is parked (retried after parkMs, or at once when the wanted state changes). */
  readonly terminalError?: string;
  readonly lastError?: string;
  readonly frontendIP?: string;
  /** When the record entered its current state. */
  readonly since: number;
}

export function newRecord(name: string, kind: ServiceKind, now: number): ServiceRecord {
  return {
    name,
    kind,
    state: "NotStarted",
    wantPresent: false,
    specVersion: 0,
    appliedVersion: 0,
    mayExist: false,
    registered: false,
    adopted: false,
    attempts: 0,
    notBefore: 0,
    parked: false,
    since: now,
  };
}

/** A service listed in the gateway at start: it exists, its spec is unknown, nobody claimed it yet. */
export function adoptedRecord(name: string, kind: ServiceKind, now: number): ServiceRecord {
  return {
    ...newRecord(name, kind, now),
    state: "Created",
    mayExist: true,
    registered: true,
    adopted: true,
    appliedVersion: -1,
  };
}

function enter(rec: ServiceRecord, state: ServiceState, now: number): ServiceRecord {
  return rec.state === state ? rec : { ...rec, state, since: now };
}

/** Kubernetes' wish changed: present or not, and whether the spec changed. */
export function desire(
  rec: ServiceRecord,
  wantPresent: boolean,
  specChanged: boolean,
  now: number,
): ServiceRecord {
  const changed = wantPresent !== rec.wantPresent || specChanged;
  let next: ServiceRecord = {
    ...rec,
    wantPresent,
    adopted: rec.adopted && !wantPresent,
    specVersion: specChanged ? rec.specVersion + 1 : rec.specVersion,
    // A new wish deserves a fresh attempt: clear terminal errors, backoff and parking.
    ...(changed ? { terminalError: undefined, attempts: 0, notBefore: 0, parked: false } : {}),
  };
  // Wanted again before its deletion started: keep it if the gateway has it, else create it (idempotently).
  if (wantPresent && next.state === "DeletionPending") {
    next = enter(next, next.registered ? "Created" : "NotStarted", now);
  }
  if (!wantPresent && next.state === "Created") next = enter(next, "DeletionPending", now);
  if (!wantPresent && next.state === "NotStarted" && next.mayExist) {
    next = enter(next, "DeletionPending", now);
  }
  return next;
}

/** Whether the record can be forgotten: nothing wanted, nothing in Azure, nothing in flight. */
export function isDisposable(rec: ServiceRecord): boolean {
  return !rec.wantPresent && !rec.mayExist && rec.token === undefined && rec.state === "NotStarted";
}

/** Whether the service exists in Azure and addresses may reference it. */
export function isLive(rec: ServiceRecord): boolean {
  return rec.state === "Created" || rec.state === "UpdateInProgress";
}

export interface ActionContext {
  now: number;
  /** How many addresses in Azure (or in a request in flight) still reference the service. */
  azureReferences: number;
  /**
   * A write to the addresses failed or timed out and the gateway was not re-read since: it may hold references
   * the engine does not know of, so no service may be deleted until a re-read settles it.
   */
  addressesUncertain?: boolean;
}

/** The operation the record needs now, if any. */
export function nextAction(rec: ServiceRecord, ctx: ActionContext): OperationKind | undefined {
  if (rec.token !== undefined || ctx.now < rec.notBefore) return undefined;
  switch (rec.state) {
    case "NotStarted":
      return rec.wantPresent ? "create" : undefined;
    case "Created":
      return rec.wantPresent && rec.specVersion !== rec.appliedVersion ? "update" : undefined;
    case "DeletionPending":
      // Deleting a service that addresses still reference would strand them; the locations updater goes first.
      return !ctx.addressesUncertain && ctx.azureReferences === 0 ? "delete" : undefined;
    default:
      return undefined;
  }
}

const RUNNING: Record<OperationKind, ServiceState> = {
  create: "CreationInProgress",
  update: "UpdateInProgress",
  delete: "DeletionInProgress",
};

export function begin(rec: ServiceRecord, op: OperationKind, token: number, now: number): ServiceRecord {
  return {
    ...enter(rec, RUNNING[op], now),
    token,
    opVersion: rec.specVersion,
    mayExist: true,
    parked: false,
  };
}

export interface Completion {
  /** The record afterwards; undefined when it is gone for good. */
  record: ServiceRecord | undefined;
  /** The completion belonged to an older generation and changed nothing. */
  stale: boolean;
}

function operationOf(state: ServiceState): OperationKind | undefined {
  for (const [op, s] of Object.entries(RUNNING)) if (s === state) return op as OperationKind;
  return undefined;
}

export function succeed(
  rec: ServiceRecord,
  token: number,
  result: { frontendIP?: string },
  now: number,
): Completion {
  if (rec.token !== token) return { record: rec, stale: true };
  const op = operationOf(rec.state);
  const base = {
    ...rec,
    token: undefined,
    opVersion: undefined,
    attempts: 0,
    notBefore: 0,
    lastError: undefined,
  };
  if (op === "delete") {
    // Deleted; when Kubernetes wants it back meanwhile (a delete that raced a re-add), create it afresh.
    if (!rec.wantPresent) return { record: undefined, stale: false };
    return {
      record: {
        ...enter(base, "NotStarted", now),
        mayExist: false,
        registered: false,
        appliedVersion: 0,
        frontendIP: undefined,
      },
      stale: false,
    };
  }
  const applied: ServiceRecord = {
    ...base,
    appliedVersion: rec.opVersion ?? rec.specVersion,
    registered: true,
    frontendIP: result.frontendIP ?? rec.frontendIP,
  };
  // A delete requested while the create ran: the service exists now, so it goes the normal deletion way.
  return { record: enter(applied, rec.wantPresent ? "Created" : "DeletionPending", now), stale: false };
}

export interface Failure {
  message: string;
  /** 400/422: the request itself is wrong, retrying it cannot help. */
  terminal: boolean;
}

export function fail(
  rec: ServiceRecord,
  token: number,
  failure: Failure,
  now: number,
  policy: OperationBackoff,
  random: () => number,
): Completion & { parked: boolean } {
  if (rec.token !== token) return { record: rec, stale: true, parked: false };
  const op = operationOf(rec.state);
  let state: ServiceState;
  if (op === "update") state = rec.wantPresent ? "Created" : "DeletionPending";
  else if (op === "delete") state = rec.wantPresent ? "NotStarted" : "DeletionPending";
  else state = rec.wantPresent ? "NotStarted" : "DeletionPending";
  const base = {
    ...enter(rec, state, now),
    token: undefined,
    opVersion: undefined,
    lastError: failure.message,
    // A failed delete may have unregistered the service before it failed: assume it did.
    registered: op === "delete" ? false : rec.registered,
  };
  if (failure.terminal) {
    // Sending the same request again cannot succeed soon, but leaving it for ever would leak the service (a
    // delete step) or never notice a fixed quota: park it, visibly, and try again after parkMs.
    return {
      record: {
        ...base,
        terminalError: failure.message,
        attempts: 0,
        notBefore: now + policy.parkMs,
        parked: true,
      },
      stale: false,
      parked: true,
    };
  }
  const retry = retryAfterFailure(policy, rec.attempts + 1, random);
  return {
    record: { ...base, attempts: retry.attempts, notBefore: now + retry.delayMs, parked: retry.parked },
    stale: false,
    parked: retry.parked,
  };
}

/** The gateway no longer lists a service the record says it has: register it again (create is idempotent). */
export function lost(rec: ServiceRecord, now: number): ServiceRecord {
  const next = { ...rec, registered: false, appliedVersion: 0, mayExist: true };
  if (!isLive(rec)) return next;
  return enter(next, rec.wantPresent ? "NotStarted" : "DeletionPending", now);
}

/** Its resources differ from the spec (a wrong port, a missing load balancer): apply the spec again. */
export function drifted(rec: ServiceRecord): ServiceRecord {
  return { ...rec, appliedVersion: -1, notBefore: 0, parked: false };
}
