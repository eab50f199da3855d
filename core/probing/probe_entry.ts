/** The probe scheduler's bookkeeping: each registered target's entry and in-flight probe, by key and by Service. */
import type { HealthChecker, HealthResult, PodView } from "../plugin/types.ts";
import type { ProbeSchedule } from "./spec.ts";
import { type ProbeRole, type ProbeState, UNPROBED } from "./threshold.ts";

export interface ProbeTarget {
  podUID: string;
  /** `namespace/name` of the Service whose health check applies. */
  serviceKey: string;
  role: ProbeRole;
  pod: PodView;
  checker: HealthChecker;
  spec: unknown;
  schedule: ProbeSchedule;
  /** The checker plugin's name for metric labels (`parseHealthCheck`'s `type`); "unknown" when absent. */
  type?: string;
}

export interface Entry {
  target: ProbeTarget;
  state: ProbeState;
  /** Bumped on every reschedule or removal; heap items of an older generation are stale. */
  gen: number;
  /** Bumped when the checker, spec or pod IP changes: results of probes started before belong to the past. */
  stateGen: number;
  /** When the next scheduled check is due; undefined for a passive checker already checked. */
  nextDue?: number;
  inFlight?: Probe;
  removed: boolean;
}

export interface Probe {
  entry: Entry;
  stateGen: number;
  controller: AbortController;
  startedAt: number;
  /** Set once a result is recorded: the check's own answer, or a timeout at the deadline. */
  settled: boolean;
  waiters: ((r: HealthResult) => void)[];
}

const entryKey = (serviceKey: string, podUID: string) => `${serviceKey}\u0000${podUID}`;

/** The registered entries, found by Service and pod UID, and listed per Service. */
export class ProbeEntries {
  private readonly entries = new Map<string, Entry>();
  private readonly byService = new Map<string, Set<string>>();

  get size(): number {
    return this.entries.size;
  }

  get(serviceKey: string, podUID: string): Entry | undefined {
    return this.entries.get(entryKey(serviceKey, podUID));
  }

  /** Registers a new, unprobed entry for `target` (which must not be registered yet). */
  add(target: ProbeTarget): Entry {
    const key = entryKey(target.serviceKey, target.podUID);
    const entry: Entry = { target, state: UNPROBED, gen: 0, stateGen: 0, removed: false };
    this.entries.set(key, entry);
    let keys = this.byService.get(target.serviceKey);
    if (!keys) this.byService.set(target.serviceKey, keys = new Set());
    keys.add(key);
    return entry;
  }

  /** Unregisters one entry and returns it; undefined when it was not registered. */
  delete(serviceKey: string, podUID: string): Entry | undefined {
    const key = entryKey(serviceKey, podUID);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    const keys = this.byService.get(serviceKey);
    keys?.delete(key);
    if (keys?.size === 0) this.byService.delete(serviceKey);
    return entry;
  }

  /** The entries of one Service, as a snapshot. */
  ofService(serviceKey: string): Entry[] {
    const out: Entry[] = [];
    for (const key of this.byService.get(serviceKey) ?? []) {
      const entry = this.entries.get(key);
      if (entry) out.push(entry);
    }
    return out;
  }

  values(): IterableIterator<Entry> {
    return this.entries.values();
  }

  /** Unregisters every entry and returns what was registered. */
  drain(): Entry[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.byService.clear();
    return all;
  }
}
