/**
 * The engine runs only on the active controller replica. A standby's engine would see no Services applied and,
 * after its orphan grace, delete every gateway service the active replica manages; so each term of leadership
 * gets a fresh engine, and losing leadership drains and closes it (never two writers to the gateway).
 */
import type {
  BackendServiceState,
  BackendStatus,
  CloudBackend,
  Leadership,
  Logger,
  PodView,
} from "../../mod.ts";
import type { EgressPod, ServiceGatewayEngine } from "./engine/engine.ts";

type StatusListener = (key: string, status: BackendStatus) => void;

export class LeaderOnlyBackend implements CloudBackend {
  private engine: ServiceGatewayEngine | undefined;
  private readonly listeners = new Set<StatusListener>();
  private readonly unsubscribe: () => void;
  private stopping: Promise<void> = Promise.resolve();

  constructor(
    private readonly makeEngine: () => ServiceGatewayEngine,
    private readonly egressOf: (pod: PodView, nodeIP: string | undefined) => EgressPod,
    leadership: Leadership,
    private readonly log: Logger,
  ) {
    this.unsubscribe = leadership.subscribe((active) => active ? this.startTerm() : void this.endTerm());
    if (leadership.active) this.startTerm();
  }

  private startTerm(): void {
    if (this.engine) return;
    const engine = this.makeEngine();
    for (const l of this.listeners) engine.onStatus(l);
    this.engine = engine;
    // Start after the previous term's engine has drained, so the two never overlap.
    this.stopping.then(() => engine.start()).catch((e) =>
      this.log.error("engine start failed", { error: e })
    );
    this.log.info("engine started: this replica is active");
  }

  private endTerm(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    if (!engine) return this.stopping;
    this.log.info("engine stopping: this replica is no longer active");
    this.stopping = engine.close().catch((e) => this.log.warn("engine close failed", { error: e }));
    return this.stopping;
  }

  apply(desired: BackendServiceState): void {
    this.engine?.apply(desired);
  }

  remove(key: string, uid: string): void {
    this.engine?.remove(key, uid);
  }

  onStatus(listener: StatusListener): void {
    this.listeners.add(listener);
    this.engine?.onStatus(listener);
  }

  resynced(): void {
    this.engine?.resyncDone();
  }

  podChanged(pod: PodView, nodeIP: string | undefined): void {
    this.engine?.updatePod(this.egressOf(pod, nodeIP));
  }

  podDeleted(uid: string): void {
    this.engine?.deletePod(uid);
  }

  debug(): Record<string, () => unknown> {
    const standby = { state: "standby: the engine runs on the active replica only" };
    return {
      "difftracker/services": () => this.engine?.debugServices() ?? standby,
      "difftracker/buffered": () => this.engine?.debugBuffered() ?? standby,
    };
  }

  /** The engine of the current term (tests and debugging). */
  get current(): ServiceGatewayEngine | undefined {
    return this.engine;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.endTerm();
  }
}
