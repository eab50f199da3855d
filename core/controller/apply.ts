/** The apply step of a reconcile: a plan's writes in order, the leader Service before the slice that routes to it. */
import type { EndpointSlice, Service } from "../kube/types.ts";
import { mergeService, serviceDrift, serviceNeedsRecreate } from "../leader/compare.ts";
import { LeaderNameConflictError } from "./errors.ts";
import { leaderSlice, type RoutePlan } from "./plan.ts";
import type { ManagedObjects } from "./read.ts";
import type { LeaderWriter } from "./writer.ts";

/** The freshest view of a leader object: our write when the cache has not seen it yet. */
export interface LeaderViews {
  serviceView(key: string): Service | undefined;
  sliceView(key: string): EndpointSlice | undefined;
}

export interface LeaderServiceWritten {
  service: Service;
  /** This reconcile created it (not a re-creation). */
  created: boolean;
}

export type SliceWritten =
  | { kind: "routed"; sliceWritten: boolean; routed: number }
  /** A stranger's EndpointSlice holds the name: the leader Service this reconcile created was taken back. */
  | { kind: "nameTaken"; objectKind: string };

export class LeaderApply {
  constructor(private readonly w: LeaderWriter, private readonly views: LeaderViews) {}

  /**
   * The leader Service first when it is missing: the slice's ownerReference needs its real UID. `onCreated` runs
   * as soon as a create is acknowledged.
   */
  async leaderService(plan: RoutePlan, onCreated: () => void): Promise<LeaderServiceWritten> {
    const { namespace: ns, leaderName } = plan.snapshot;
    let service = plan.snapshot.observedService;
    let created = false;
    if (!service) {
      service = await this.w.createService(ns, plan.desiredService);
      created = true;
      onCreated();
    } else if (serviceNeedsRecreate(plan.desiredService, service)) {
      await this.w.deleteService(ns, service);
      service = await this.w.createService(ns, plan.desiredService);
    }
    if (!service.metadata.uid) service = await this.w.freshService(ns, leaderName);
    return { service, created };
  }

  /** The routing write: the slice to what was decided, unless it already says so. */
  async slice(plan: RoutePlan, leader: LeaderServiceWritten): Promise<SliceWritten> {
    const { namespace: ns, leaderName } = plan.snapshot;
    const { slice, routed } = leaderSlice(plan, leader.service);
    try {
      const sliceWritten = await this.w.writeSlice(ns, slice, this.views.sliceView(`${ns}/${leaderName}`));
      return { kind: "routed", sliceWritten, routed };
    } catch (e) {
      if (!(e instanceof LeaderNameConflictError)) throw e;
      // Undo the leader Service this reconcile made for a name that turned out to be taken.
      if (leader.created) await this.w.deleteService(ns, leader.service);
      return { kind: "nameTaken", objectKind: e.kind };
    }
  }

  /** After routing: the leader Service's own drift, then objects of an earlier leader name (a rename). */
  async settle(plan: RoutePlan, leader: LeaderServiceWritten): Promise<void> {
    const { namespace: ns, leaderName, managed } = plan.snapshot;
    if (!leader.created) {
      const current = this.views.serviceView(`${ns}/${leaderName}`) ?? leader.service;
      if (serviceDrift(plan.desiredService, current)) {
        await this.w.replaceService(ns, mergeService(plan.desiredService, current));
      }
    }
    for (const old of managed.services) {
      if (old.metadata.name !== leaderName) await this.w.deleteService(ns, old);
    }
    for (const old of managed.slices) {
      if (old.metadata.name !== leaderName) await this.w.deleteSlice(ns, old);
    }
  }

  /** Deletes every leader object of a Service that left: the slices, then the Services that own them. */
  async removeAll(ns: string, managed: ManagedObjects): Promise<void> {
    for (const s of managed.slices) await this.w.deleteSlice(ns, s);
    for (const s of managed.services) await this.w.deleteService(ns, s);
  }
}
