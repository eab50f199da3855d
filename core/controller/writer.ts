/** The writes of managed objects: each checks that this replica may write, and lays what it wrote over the cache. */
import type { EndpointSlice, KubeObject, Service } from "../kube/types.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/errors.ts";
import { LABEL } from "../leader/annotations.ts";
import { mergeSlice, sliceDrift } from "../leader/compare.ts";
import { isManagedFor } from "../leader/desired_objects.ts";
import type { LeaderApi } from "./api.ts";
import { LeaderNameConflictError, NotActiveError, WriteConflictError } from "./errors.ts";
import type { WriteOverlay } from "./overlay.ts";

/** What zen-lead wrote and the watch has not shown yet, per kind. */
export interface WriteOverlays {
  services: WriteOverlay<Service>;
  slices: WriteOverlay<EndpointSlice>;
}

export interface LeaderWriterDeps {
  api: LeaderApi;
  overlay: WriteOverlays;
  /** False once this replica may no longer write (lost its Lease): every write checks it first. */
  canWrite(): boolean;
}

const keyOf = (ns: string, obj: KubeObject) => `${ns}/${obj.metadata.name}`;

export class LeaderWriter {
  constructor(private readonly d: LeaderWriterDeps) {}

  private guard(): void {
    if (!this.d.canWrite()) throw new NotActiveError();
  }

  async createService(ns: string, desired: Service): Promise<Service> {
    this.guard();
    const out = await this.d.api.createService(ns, desired);
    this.d.overlay.services.remember(keyOf(ns, desired), out);
    return out;
  }

  async replaceService(ns: string, obj: Service): Promise<void> {
    this.guard();
    const key = keyOf(ns, obj);
    try {
      this.d.overlay.services.remember(key, await this.d.api.replaceService(ns, obj));
    } catch (e) {
      if (!isConflict(e)) throw e;
      this.d.overlay.services.forget(key);
      throw new WriteConflictError("Service", key, { cause: e });
    }
  }

  /** Reads a leader Service back when the write's answer lacked its UID (the slice's ownerReference needs it). */
  async freshService(ns: string, name: string): Promise<Service> {
    const s = await this.d.api.getService(ns, name);
    if (!s?.metadata.uid) throw new Error(`leader Service ${ns}/${name} has no UID after it was written`);
    this.d.overlay.services.remember(`${ns}/${name}`, s);
    return s;
  }

  deleteService(ns: string, obj: Service): Promise<void> {
    const { api, overlay } = this.d;
    return this.delete("Service", overlay.services, ns, obj, (...a) => api.deleteService(...a));
  }

  deleteSlice(ns: string, obj: EndpointSlice): Promise<void> {
    const { api, overlay } = this.d;
    return this.delete("EndpointSlice", overlay.slices, ns, obj, (...a) => api.deleteSlice(...a));
  }

  /** Deletes exactly the object seen (UID and resourceVersion preconditions); one already gone counts as deleted. */
  private async delete<T extends KubeObject>(
    kind: string,
    overlay: WriteOverlay<T>,
    ns: string,
    obj: T,
    del: (ns: string, name: string, uid: string, resourceVersion?: string) => Promise<void>,
  ): Promise<void> {
    this.guard();
    const key = keyOf(ns, obj);
    try {
      await del(ns, obj.metadata.name ?? "", obj.metadata.uid ?? "", obj.metadata.resourceVersion);
    } catch (e) {
      if (isConflict(e)) {
        // Changed since the view this delete was decided from (or replaced by another object): decide again.
        overlay.forget(key);
        throw new WriteConflictError(kind, key, { cause: e });
      }
      if (!isNotFound(e)) throw e;
    }
    overlay.remember(key, null, obj.metadata.resourceVersion);
  }

  /** Creates, replaces or re-creates (address type is immutable) the slice; true when it wrote. */
  async writeSlice(
    ns: string,
    desired: EndpointSlice,
    observed: EndpointSlice | undefined,
  ): Promise<boolean> {
    const key = keyOf(ns, desired);
    if (observed && observed.addressType !== desired.addressType) {
      await this.deleteSlice(ns, observed);
      observed = undefined;
    }
    if (observed && !sliceDrift(desired, observed)) return false;
    this.guard();
    if (!observed) {
      try {
        this.d.overlay.slices.remember(key, await this.d.api.createSlice(ns, desired));
        return true;
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const fresh = await this.d.api.getSlice(ns, desired.metadata.name ?? "");
        if (!fresh) throw e;
        // The slice cache holds only zen-lead's slices: a stranger's slice of this name shows up only here.
        const source = desired.metadata.labels?.[LABEL.sourceService] ?? "";
        if (!isManagedFor(fresh, source)) {
          throw new LeaderNameConflictError("EndpointSlice", ns, desired.metadata.name ?? "");
        }
        // Ours, made by a write this view has not seen: decide again over it rather than overwrite it now.
        this.d.overlay.slices.remember(key, fresh);
        throw new WriteConflictError("EndpointSlice", key, { cause: e });
      }
    }
    try {
      this.d.overlay.slices.remember(key, await this.d.api.replaceSlice(ns, mergeSlice(desired, observed)));
    } catch (e) {
      if (!isConflict(e)) throw e;
      this.d.overlay.slices.forget(key);
      throw new WriteConflictError("EndpointSlice", key, { cause: e });
    }
    return true;
  }
}
