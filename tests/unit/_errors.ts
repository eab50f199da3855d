/** Asserting on the error a call fails with. */
import assert from "node:assert/strict";

/** The error `p` rejects with, asserted to be a `type`; fails with "expected <what>" when `p` resolves. */
export async function rejectionOf<E extends Error>(
  p: Promise<unknown>,
  type: new (...args: never[]) => E,
  what: string,
): Promise<E> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    return error;
  }
  throw new Error(`expected ${what}`);
}
