/** An ARM call that failed: which call, the HTTP status, ARM's error code and whether retrying can help. */
export class ArmError extends Error {
  override readonly name = "ArmError";
  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status of the answer (200 for a long-running operation whose poll reported Failed; 0: no answer). */
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`ARM ${method} ${path} failed: status ${status}, code ${code}: ${detail}`);
  }
  /** 400 and 422 say the request is wrong; sending it again cannot succeed. */
  get terminal(): boolean {
    return this.status === 400 || this.status === 422;
  }

  /** No answer, or a 5xx: the write may have been applied although it failed. */
  get uncertain(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

/** Turns any thrown value into the engine's failure shape; anything but an ARM answer leaves the outcome open. */
export function failureOf(err: unknown): { message: string; terminal: boolean; uncertain: boolean } {
  if (err instanceof ArmError) {
    return { message: err.message, terminal: err.terminal, uncertain: err.uncertain };
  }
  return { message: err instanceof Error ? err.message : String(err), terminal: false, uncertain: true };
}
