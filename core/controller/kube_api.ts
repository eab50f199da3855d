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

export class KubeLeaderApi implements LeaderApi {
  constructor(private readonly client: KubeClient) {}

  getService(namespace: string, name: string) {
    return orUndefined(this.client.get<Service>(Services, namespace, name));
  }
  createService(_namespace: string, svc: Service) {
    return this.client.create<Service>(Services, svc);
  }
  replaceService(_namespace: string, svc: Service) {
    return this.client.replace<Service>(Services, svc);
  }
  async deleteService(namespace: string, name: string, uid: string) {
    await this.client.delete(Services, namespace, name, { preconditions: uid ? { uid } : undefined });
  }
  getSlice(namespace: string, name: string) {
    return orUndefined(this.client.get<EndpointSlice>(EndpointSlices, namespace, name));
  }
  createSlice(_namespace: string, slice: EndpointSlice) {
    return this.client.create<EndpointSlice>(EndpointSlices, slice);
  }
  replaceSlice(_namespace: string, slice: EndpointSlice) {
    return this.client.replace<EndpointSlice>(EndpointSlices, slice);
  }
  async deleteSlice(namespace: string, name: string, uid: string) {
    await this.client.delete(EndpointSlices, namespace, name, { preconditions: uid ? { uid } : undefined });
  }
  async patchServiceStatus(namespace: string, name: string, status: Service["status"]) {
    await this.client.mergePatch<Service>(Services, namespace, name, { status }, { subresource: "status" });
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
