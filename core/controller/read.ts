/** The read step of a reconcile: the caches (with zen-lead's own writes laid over them) as one snapshot value. */
import type { EndpointSlice, Node, Pod, Service } from "../kube/types.ts";
import type { LeaderStrategy, NodeView } from "../plugin/types.ts";
import { ANN, isOptedIn } from "../leader/annotations.ts";
import { isManagedFor } from "../leader/desired_objects.ts";
import { effectiveLeaderName } from "../leader/names.ts";
import { selectorMatches, toNodeView } from "../leader/pods.ts";
import {
  type AnnotationError,
  parseServiceSettings,
  type ServiceSettings,
} from "../leader/service_settings.ts";
import type { LeaderApi } from "./api.ts";
import type { PluginAccess } from "./plugin_access.ts";
import type { SettingsMemo } from "./settings_memo.ts";
import { type ControllerStores, INDEX } from "./stores.ts";
import type { Trigger } from "./latency.ts";
import type { WriteOverlays } from "./writer.ts";

/** The leader objects zen-lead manages for one source Service (more than one of a kind after a rename). */
export interface ManagedObjects {
  services: Service[];
  slices: EndpointSlice[];
}

interface SnapshotBase {
  key: string;
  namespace: string;
  name: string;
}

/** The Service is gone, opted out or being deleted: what zen-lead made for it goes. */
export interface GoneSnapshot extends SnapshotBase {
  kind: "gone";
  service?: Service;
}

/** Opted in without a selector: there are no pods to choose among. */
export interface NoSelectorSnapshot extends SnapshotBase {
  kind: "noSelector";
  service: Service;
}

/** An opted-in Service and everything its leader decision reads. */
export interface ServiceSnapshot extends SnapshotBase {
  kind: "optedIn";
  service: Service;
  uid: string;
  settings: ServiceSettings;
  /** Invalid annotations: each keeps its last good value in `settings`. */
  settingsErrors: readonly AnnotationError[];
  managed: ManagedObjects;
  leaderName: string;
  /** Why the wanted leader name was not taken (InvalidAnnotation). */
  leaderNameError?: string;
  /** The leader Service and EndpointSlice of `leaderName` as the caches (and our writes) show them. */
  observedService?: Service;
  observedSlice?: EndpointSlice;
  /**
   * True when the API server says a stranger's EndpointSlice holds `leaderName`; asked only while one held it at
   * the last reconcile (the slice cache holds only zen-lead's slices). Undefined when not asked.
   */
  strangerSlice?: boolean;
  /** Pods the selector matches. */
  pods: readonly Pod[];
  nodes: ReadonlyMap<string, NodeView>;
  /** Pod UIDs routed now, primary first. */
  currentLeaders: readonly string[];
  /** The seed of seeded strategies: the leader Service's, or a new one for a Service that has none yet. */
  seed: string;
  strategy: LeaderStrategy;
  /** The probe scheduler's thresholded health of each pod in `pods` and `currentLeaders`. */
  health: ReadonlyMap<string, boolean | undefined>;
  /** The earliest change not yet written, if one was observed. */
  trigger?: Trigger;
  now: number;
}

export type Snapshot = GoneSnapshot | NoSelectorSnapshot | ServiceSnapshot;

export interface ReaderDeps {
  stores: ControllerStores;
  overlay: WriteOverlays;
  plugins: PluginAccess;
  /** The probe scheduler's thresholded health of a pod for a Service. */
  healthOf(serviceKey: string, podUID: string): boolean | undefined;
  trigger(serviceKey: string): Trigger | undefined;
  settingsMemo: SettingsMemo;
  /** The settings a Service UID had at its last reconcile: an invalid annotation keeps its value from there. */
  lastGood(uid: string): ServiceSettings | undefined;
  /** For the one read the caches cannot answer: a stranger's EndpointSlice. */
  api: Pick<LeaderApi, "getSlice">;
  now(): number;
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}

export class ServiceReader {
  constructor(private readonly d: ReaderDeps) {}

  serviceView(key: string): Service | undefined {
    return this.d.overlay.services.view(key, this.d.stores.services.get(key));
  }

  sliceView(key: string): EndpointSlice | undefined {
    return this.d.overlay.slices.view(key, this.d.stores.slices.get(key));
  }

  /** The leader objects labelled as made for `source`, as we last wrote or the watch last showed them. */
  managed(ns: string, source: string): ManagedObjects {
    const services = this.d.stores.services.byIndex(INDEX.source, `${ns}/${source}`)
      .map((s) => this.serviceView(`${ns}/${s.metadata.name}`))
      .filter((s): s is Service => s !== undefined && isManagedFor(s, source));
    const slices = this.d.stores.slices.byIndex(INDEX.source, `${ns}/${source}`)
      .map((s) => this.sliceView(`${ns}/${s.metadata.name}`))
      .filter((s): s is EndpointSlice => s !== undefined && isManagedFor(s, source));
    return { services, slices };
  }

  /**
   * Reads the Service `key`. `strangerHeld` is the leader name a stranger's EndpointSlice held at the last
   * reconcile: when it is still the name wanted, the API server is asked whether it still does.
   */
  async read(key: string, strangerHeld?: string): Promise<Snapshot> {
    const [namespace, name] = splitKey(key);
    const base = { key, namespace, name };
    const service = this.d.stores.services.get(key);
    if (!service || !isOptedIn(service.metadata.annotations) || service.metadata.deletionTimestamp) {
      return { ...base, kind: "gone", service };
    }
    const selector = service.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) return { ...base, kind: "noSelector", service };

    const uid = service.metadata.uid ?? "";
    const annotations = service.metadata.annotations ?? {};
    // Memoised per Service version and configuration generation; an eviction only costs a re-parse.
    const { settings, errors } = this.d.settingsMemo.get(
      namespace,
      name,
      `${service.metadata.resourceVersion}/${this.d.plugins.generation?.() ?? 0}`,
      // The settings context (plugin names, ConfigMap defaults) is built only when a parse is due.
      () =>
        parseServiceSettings(
          annotations,
          this.d.plugins.settingsContext(),
          this.d.lastGood(uid),
          service.spec?.type,
        ),
    );
    const managed = this.managed(namespace, name);
    const nameChoice = effectiveLeaderName(name, annotations, managed.services[0]?.metadata.name);
    const leaderName = nameChoice.name;
    const observedService = this.serviceView(`${namespace}/${leaderName}`);
    const observedSlice = this.sliceView(`${namespace}/${leaderName}`);
    const foreignObserved = [observedService, observedSlice].some((o) => o && !isManagedFor(o, name));
    let strangerSlice: boolean | undefined;
    if (!foreignObserved && strangerHeld === leaderName) {
      const other = await this.d.api.getSlice(namespace, leaderName);
      strangerSlice = other !== undefined && !isManagedFor(other, name);
    }

    const pods = this.d.stores.pods.byIndex(INDEX.namespace, namespace)
      .filter((p) => selectorMatches(selector, p.metadata.labels));
    const currentLeaders = currentLeaderUIDs(observedSlice, observedService);
    return {
      ...base,
      kind: "optedIn",
      service,
      uid,
      settings,
      settingsErrors: errors,
      managed,
      leaderName,
      leaderNameError: nameChoice.error,
      observedService,
      observedSlice,
      strangerSlice,
      pods,
      nodes: this.nodeViews(pods),
      currentLeaders,
      seed: observedService?.metadata.annotations?.[ANN.seed] ?? crypto.randomUUID().slice(0, 8),
      strategy: this.d.plugins.strategy(settings.strategy),
      health: this.health(key, pods, currentLeaders),
      trigger: this.d.trigger(key),
      now: this.d.now(),
    };
  }

  /** The snapshot after an on-demand probe: health read again with the pods that `passed` healthy, and the trigger. */
  afterProbe(s: ServiceSnapshot, passed: ReadonlySet<string>): ServiceSnapshot {
    const health = this.health(s.key, s.pods, s.currentLeaders);
    for (const uid of passed) health.set(uid, true);
    return { ...s, health, trigger: this.d.trigger(s.key) };
  }

  private health(key: string, pods: readonly Pod[], leaders: readonly string[]) {
    const out = new Map<string, boolean | undefined>();
    for (const uid of [...pods.map((p) => p.metadata.uid ?? ""), ...leaders]) {
      if (!out.has(uid)) out.set(uid, this.d.healthOf(key, uid));
    }
    return out;
  }

  private nodeViews(pods: readonly Pod[]): Map<string, NodeView> {
    const out = new Map<string, NodeView>();
    const nodes = this.d.stores.nodes;
    if (!nodes) return out;
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (!n || out.has(n)) continue;
      // Informer keys are `namespace/name`; a cluster-scoped Node's namespace is empty.
      const node: Node | undefined = nodes.get(`/${n}`);
      if (node) out.set(n, toNodeView(node));
    }
    return out;
  }
}

/** Who routes now: the slice's endpoint targetRefs (matched by UID), else the leader Service's annotation. */
export function currentLeaderUIDs(slice: EndpointSlice | undefined, svc: Service | undefined): string[] {
  const fromSlice = (slice?.endpoints ?? []).map((e) => e.targetRef?.uid).filter((u): u is string => !!u);
  if (slice) return fromSlice;
  const uid = svc?.metadata.annotations?.[ANN.leaderPodUID];
  return uid ? [uid] : [];
}
