/** Gives each Service's cloud backend its desired state, and tells the backend a Service had when it leaves. */
import type { BackendServiceState, CloudBackend } from "../plugin/types.ts";

export class BackendSync {
  /** Which backend each Service was last given, to tell it when the Service leaves or moves to another. */
  private readonly given = new Map<string, { name: string; uid: string }>();

  constructor(private readonly backend: (name: string | undefined) => CloudBackend | undefined) {}

  /** Applies `state` on backend `name` (none: the Service uses no backend); an earlier other backend is told first. */
  async apply(key: string, name: string | undefined, state: BackendServiceState | undefined): Promise<void> {
    const prev = this.given.get(key);
    if (prev && prev.name !== name) await this.remove(key);
    if (!name || !state) return;
    const backend = this.backend(name);
    if (!backend) return;
    await backend.apply(state);
    this.given.set(key, { name, uid: state.uid });
  }

  /** The Service left (opted out, lost its selector, or is gone): its backend forgets it. */
  async remove(key: string): Promise<void> {
    const prev = this.given.get(key);
    if (!prev) return;
    await this.backend(prev.name)?.remove(key, prev.uid);
    this.given.delete(key);
  }
}
