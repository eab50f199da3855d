/**
 * The bench's independent view of the cluster: its own watches (own client, own connection) of the managed
 * EndpointSlices and leader Services and of the fleet's pods. It timestamps every change on arrival, judges
 * whether each Service's leader is right, and wakes waiters when a slice moves.
 */
import type { KubeClient } from "../core/kube/client.ts";
import { Informer } from "../core/kube/informer.ts";
import { EndpointSlices, Pods, Services } from "../core/kube/paths.ts";
import type { EndpointSlice, KubeObject, Pod, Service } from "../core/kube/types.ts";
import { RootLogger } from "../core/log.ts";
import { MetricsRegistry } from "../core/metrics/registry.ts";
import { APP_LABEL, BENCH_LABEL, type Fleet, type FleetService } from "./fleet.ts";

export interface RoutedLeader {
  uid: string;
  name: string;
  address: string;
}

interface Waiter {
  done(at: number, leader: RoutedLeader | undefined): void;
  test(leader: RoutedLeader | undefined): boolean;
}

const SOURCE_LABEL = "zen-lead.io/source-service";
const LEADER_UID_ANNOTATION = "zen-lead.io/leader-pod-uid";

/** Running, Ready, with an IP and not terminating: what the controller calls eligible (no health plugin in the bench). */
export function isEligible(pod: Pod): boolean {
  return pod.status?.phase === "Running" && !!pod.status.podIP && !pod.metadata.deletionTimestamp &&
    (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** The one endpoint a leader slice routes to, if it routes to exactly one. */
export function routedLeader(slice: EndpointSlice | undefined): RoutedLeader | undefined {
  const eps = slice?.endpoints ?? [];
  if (eps.length !== 1) return undefined;
  const ep = eps[0];
  if (!ep.targetRef?.uid || ep.addresses.length === 0 || ep.conditions?.ready === false) return undefined;
  return { uid: ep.targetRef.uid, name: ep.targetRef.name, address: ep.addresses[0] };
}

/**
 * Why a Service's leader is wrong, or undefined when it is right: the leader Service and slice exist and are
 * managed for it, the slice routes to exactly one of its pods, that pod is eligible and its address is routed,
 * and the leader Service names the same pod.
 */
export function leaderProblem(
  svc: FleetService,
  leaderService: Service | undefined,
  slice: EndpointSlice | undefined,
  pods: readonly Pod[],
): string | undefined {
  if (!leaderService) return "no leader Service";
  if (leaderService.metadata.labels?.[SOURCE_LABEL] !== svc.name) return "leader Service not managed for it";
  if (leaderService.spec?.selector && Object.keys(leaderService.spec.selector).length) {
    return "leader Service has a selector";
  }
  if (!slice) return "no EndpointSlice";
  if (slice.metadata.labels?.[SOURCE_LABEL] !== svc.name) return "EndpointSlice not managed for it";
  const leader = routedLeader(slice);
  if (!leader) return `slice routes to ${(slice.endpoints ?? []).length} endpoints, expected exactly 1 ready`;
  const pod = pods.find((p) => p.metadata.uid === leader.uid);
  if (!pod) return `slice routes to ${leader.name}, not one of the Service's pods`;
  if (!isEligible(pod)) return `slice routes to ${leader.name}, which is not eligible`;
  if (pod.status?.podIP !== leader.address) {
    return `slice routes to ${leader.address}, pod IP is ${pod.status?.podIP}`;
  }
  const named = leaderService.metadata.annotations?.[LEADER_UID_ANNOTATION];
  if (named !== leader.uid) return `leader Service names pod uid ${named}, slice routes to ${leader.uid}`;
  return undefined;
}

export class FleetWatch {
  private readonly slices: Informer<EndpointSlice>;
  private readonly leaders: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly byKey: Map<string, FleetService>;
  /** Arrival time (performance.now) of the last slice or leader Service change per fleet Service. */
  private readonly lastChange = new Map<string, number>();
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(client: KubeClient, private readonly fleet: Fleet) {
    this.byKey = new Map(fleet.services.map((s) => [s.key, s]));
    const common = {
      client,
      namespaces: [],
      logger: new RootLogger("error"),
      metrics: new MetricsRegistry(),
      // No transform: the bench sees what any watcher sees.
    };
    this.slices = new Informer<EndpointSlice>({
      ...common,
      resource: EndpointSlices,
      labelSelector: "endpointslice.kubernetes.io/managed-by=zen-lead",
    });
    this.leaders = new Informer<Service>({
      ...common,
      resource: Services,
      labelSelector: "app.kubernetes.io/managed-by=zen-lead",
    });
    this.pods = new Informer<Pod>({
      ...common,
      resource: Pods,
      labelSelector: `${BENCH_LABEL}=${fleet.runId}`,
    });
    this.pods.addIndex("app", (p) => [`${p.metadata.namespace}/${p.metadata.labels?.[APP_LABEL] ?? ""}`]);
    this.slices.addHandlers({
      add: (s) => this.onSlice(s),
      update: (_o, s) => this.onSlice(s),
      delete: (s) => this.onSlice(s, true),
    });
    const onLeader = (s: Service) => {
      const key = this.sourceKey(s);
      if (!key) return;
      this.lastChange.set(key, performance.now());
    };
    this.leaders.addHandlers({ add: onLeader, update: (_o, s) => onLeader(s), delete: onLeader });
  }

  /** Starts the three watches and waits until each has listed. */
  async start(signal: AbortSignal): Promise<void> {
    for (const inf of [this.slices, this.leaders, this.pods]) {
      inf.run(signal).catch((e) => console.error(`bench watch stopped: ${e}`));
    }
    await Promise.all([this.slices, this.leaders, this.pods].map((i) => i.waitForSync(signal)));
  }

  private sourceKey(o: KubeObject): string | undefined {
    const source = o.metadata.labels?.[SOURCE_LABEL];
    const key = `${o.metadata.namespace}/${source}`;
    return source && this.byKey.has(key) ? key : undefined;
  }

  private onSlice(slice: EndpointSlice, deleted = false): void {
    const at = performance.now();
    const key = this.sourceKey(slice);
    if (!key) return;
    this.lastChange.set(key, at);
    const leader = deleted ? undefined : routedLeader(slice);
    for (const w of [...(this.waiters.get(key) ?? [])]) {
      if (w.test(leader)) w.done(at, leader);
    }
  }

  leaderOf(svc: FleetService): RoutedLeader | undefined {
    return routedLeader(this.slices.get(`${svc.namespace}/${svc.leaderName}`));
  }

  podsOf(svc: FleetService): Pod[] {
    return this.pods.byIndex("app", svc.key);
  }

  problem(svc: FleetService): string | undefined {
    return leaderProblem(
      svc,
      this.leaders.get(`${svc.namespace}/${svc.leaderName}`),
      this.slices.get(`${svc.namespace}/${svc.leaderName}`),
      this.podsOf(svc),
    );
  }

  /** Services whose leader is wrong now, with the reason. */
  problems(): { key: string; why: string }[] {
    const out: { key: string; why: string }[] = [];
    for (const s of this.fleet.services) {
      const why = this.problem(s);
      if (why) out.push({ key: s.key, why });
    }
    return out;
  }

  /** The latest arrival of a slice or leader Service change over the whole fleet. */
  lastChangeAt(): number {
    let max = 0;
    for (const t of this.lastChange.values()) max = Math.max(max, t);
    return max;
  }

  /**
   * Resolves with the arrival time of the first slice change after which `svc` routes to one pod other than
   * `fromUID`; register it before the write that causes the failover. Rejects after `timeoutMs`.
   */
  waitForNewLeader(
    svc: FleetService,
    fromUID: string,
    timeoutMs: number,
  ): { promise: Promise<{ at: number; leader: RoutedLeader }>; cancel(): void } {
    let set = this.waiters.get(svc.key);
    if (!set) this.waiters.set(svc.key, set = new Set());
    let timer: ReturnType<typeof setTimeout> | undefined;
    let waiter!: Waiter;
    const promise = new Promise<{ at: number; leader: RoutedLeader }>((resolve, reject) => {
      waiter = {
        test: (l) => l !== undefined && l.uid !== fromUID,
        done: (at, l) => {
          clearTimeout(timer);
          set.delete(waiter);
          resolve({ at, leader: l! });
        },
      };
      set.add(waiter);
      timer = setTimeout(() => {
        set.delete(waiter);
        reject(
          new Error(`${svc.key}: no new leader on the slice within ${timeoutMs} ms (was uid ${fromUID})`),
        );
      }, timeoutMs);
    });
    return {
      promise,
      cancel: () => {
        clearTimeout(timer);
        set.delete(waiter);
      },
    };
  }
}
