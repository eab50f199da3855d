/** The errors a reconcile ends with when it must not, or could not, write what it decided. */
import type { ErrorOutcome } from "../queue/reconcile.ts";

/** An object of the leader's name exists and is not zen-lead's: it is left alone, never adopted or overwritten. */
export class LeaderNameConflictError extends Error {
  constructor(readonly kind: string, readonly namespace: string, readonly objectName: string) {
    super(`${kind} ${namespace}/${objectName} exists and is not managed by zen-lead`);
  }
}

/** This replica may no longer write (it lost its Lease): the reconcile ends without a retry. */
export class NotActiveError extends Error {
  constructor() {
    super("this replica is not the active controller; write refused");
  }
}

/**
 * A write to a managed object got 409 (someone wrote it since the view it was decided from). The key is requeued,
 * and the next reconcile decides again from the cache instead of overwriting what it has not seen.
 */
export class WriteConflictError extends Error {
  constructor(readonly kind: string, readonly key: string, options?: ErrorOptions) {
    super(`${kind} ${key} changed since it was read; requeued to decide again from the cache`, options);
  }
}

/** How the reconcile wrapper treats the errors above that are not failures of the Service. */
export function reconcileErrorOutcome(e: unknown): ErrorOutcome | undefined {
  if (e instanceof NotActiveError) return { result: "skipped", retry: false };
  // Not a failure: the queue's backoff gives the cache time to catch up before the next decision.
  if (e instanceof WriteConflictError) {
    return {
      result: "conflict",
      retry: true,
      note: { message: "write conflict; requeued", fields: { object: e.key } },
    };
  }
  return undefined;
}
