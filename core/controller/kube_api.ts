/** LeaderApi and the event sink over KubeClient: the reconciler's writes as Kubernetes REST calls. */
import type { KubeClient } from "../kube/client.ts";
import { isNotFound } from "../kube/errors.ts";
import { EndpointSlices, Events, Services } from "../kube/paths.ts";
import type { EndpointSlice, KubeObject, Service } from "../kube/types.ts";
import type { LeaderApi } from "./api.ts";
import type { EventSink } from "./events.ts";

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * `mayWrite` throws when this replica may not write; it runs before every attempt of every write, the client's
 * retries included, so a replica that lost the Lease while a write waited or backed off never sends it.
 */
function preconditions(uid: string, resourceVersion?: string) {
  if (!uid && !resourceVersion) return undefined;
  return { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) };
}

export class KubeLeaderApi implements LeaderApi {
  private readonly w: { beforeAttempt: () => void };

  constructor(private readonly client: KubeClient, mayWrite: () => void = () => {}) {
    this.w = { beforeAttempt: mayWrite };
  }

  getService(namespace: string, name: string) {
    return orUndefined(this.client.get<Service>(Services, namespace, name));
  }
  createService(_namespace: string, svc: Service) {
    return this.client.create<Service>(Services, svc, this.w);
  }
  replaceService(_namespace: string, svc: Service) {
    return this.client.replace<Service>(Services, svc, this.w);
  }
  async deleteService(namespace: string, name: string, uid: string) {
    await this.client.delete(Services, namespace, name, {
      ...this.w,
      preconditions: uid ? { uid } : undefined,
    });
  }
  getSlice(namespace: string, name: string) {
    return orUndefined(this.client.get<EndpointSlice>(EndpointSlices, namespace, name));
  }
  createSlice(_namespace: string, slice: EndpointSlice) {
    return this.client.create<EndpointSlice>(EndpointSlices, slice, this.w);
  }
  replaceSlice(_namespace: string, slice: EndpointSlice) {
    return this.client.replace<EndpointSlice>(EndpointSlices, slice, this.w);
  }
  async deleteSlice(namespace: string, name: string, uid: string, resourceVersion?: string) {
    await this.client.delete(EndpointSlices, namespace, name, {
      ...this.w,
      preconditions: preconditions(uid, resourceVersion),
    });
  }
  async patchServiceStatus(namespace: string, name: string, status: Service["status"]) {
    await this.client.mergePatch<Service>(Services, namespace, name, { status }, {
      ...this.w,
      subresource: "status",
    });
  }

  static eventSink(client: KubeClient): EventSink {
    return {
      create: (namespace: string, event: KubeObject & Record<string, unknown>) =>
        client.create<KubeObject>(Events, { ...event, metadata: { ...event.metadata, namespace } }),
      // RBAC grants create and patch on Events, not get: an empty merge patch returns the Event unchanged.
      get: async (namespace: string, name: string) => {
        try {
          return await client.mergePatch<KubeObject & { count?: number; lastTimestamp?: string }>(
            Events,
            namespace,
            name,
            {},
          );
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
      patchCount: async (namespace: string, name: string, count: number, lastTimestamp: string) => {
        await client.mergePatch<KubeObject>(Events, namespace, name, { count, lastTimestamp });
      },
    };
  }
}
