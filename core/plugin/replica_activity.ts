/**
 * Whether this controller replica is the active one. Plugins that act on the outside world (cloud backends)
 * act only while it is, so a warm standby never writes: the Lease decides, the kernel passes it on.
 */
import type { Leadership } from "./types.ts";

export class ReplicaActivity implements Leadership {
  private current = false;
  private readonly listeners = new Set<(active: boolean) => void>();

  get active(): boolean {
    return this.current;
  }

  set(active: boolean): void {
    if (active === this.current) return;
    this.current = active;
    for (const l of [...this.listeners]) l(active);
  }

  subscribe(listener: (active: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** For a kernel without leader election (tests, single replica): always active. */
export const ALWAYS_ACTIVE: Leadership = {
  active: true,
  subscribe: () => () => {},
};
