/** The cluster reads e2e tests wait on: poll until, get-or-undefined, the leader slice's pods, Events. */
import type { KubeClient } from "../../core/kube/client.ts";
import { isNotFound } from "../../core/kube/errors.ts";
import { EndpointSlices, Leases, type ResourceType, Services } from "../../core/kube/paths.ts";
import type { EndpointSlice, KubeObject, Lease, Service } from "../../core/kube/types.ts";
import { CONTROLLER_NS } from "./_env.ts";

/** Polls `fn` every 10 ms until it returns a value other than undefined; the error names what was awaited. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
  );
}

/** The object, or undefined when the API server answers 404 (gone, or not created yet). */
async function getIfExists<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  ns: string,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(type, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export function getService(client: KubeClient, ns: string, name: string): Promise<Service | undefined> {
  return getIfExists<Service>(client, Services, ns, name);
}

export function getSlice(client: KubeClient, ns: string, name: string): Promise<EndpointSlice | undefined> {
  return getIfExists<EndpointSlice>(client, EndpointSlices, ns, name);
}

/** The pod names the leader slice routes to now. */
export async function routedPods(
  client: KubeClient,
  ns: string,
  leader: string,
): Promise<string[] | undefined> {
  const s = await getSlice(client, ns, leader);
  return s ? (s.endpoints ?? []).map((e) => e.targetRef?.name ?? "") : undefined;
}

/** Events recorded for an object, newest last. */
export async function eventsFor(client: KubeClient, ns: string, name: string) {
  const list = await client.request<
    { items: { reason: string; message: string; type: string; involvedObject: { name: string } }[] }
  >({
    operation: "list_events",
    method: "GET",
    path: `/api/v1/namespaces/${ns}/events`,
    query: { fieldSelector: `involvedObject.name=${name}` },
  });
  return list.items;
}

/**
 * Waits for an Event on `ns/name` with `reason` and, if given, a message containing `message` (a string) or
 * matching it (a RegExp); resolves to the first such Event.
 */
export function eventOf(
  client: KubeClient,
  ns: string,
  name: string,
  reason: string,
  message?: string | RegExp,
  timeoutMs?: number,
) {
  const fits = (m: string) =>
    message === undefined || (typeof message === "string" ? m.includes(message) : message.test(m));
  return waitFor(
    `a ${reason} Event on ${ns}/${name}${message === undefined ? "" : ` with ${message}`}`,
    async () => (await eventsFor(client, ns, name)).find((e) => e.reason === reason && fits(e.message)),
    timeoutMs,
  );
}

/** Waits until the leader slice `leader` routes to `pod` first; the error names both. */
export async function leaderIs(
  client: KubeClient,
  ns: string,
  leader: string,
  pod: string,
  timeoutMs?: number,
) {
  await waitFor(
    `${ns}/${leader} to route to ${pod}`,
    async () => (await routedPods(client, ns, leader))?.[0] === pod || undefined,
    timeoutMs,
  );
}

/** Who holds the controller's default election Lease; undefined while there is no Lease or no holder. */
export async function electionHolder(client: KubeClient): Promise<string | undefined> {
  try {
    const l = await client.get<Lease>(Leases, CONTROLLER_NS, "zen-lead-controller-leader-election");
    return l.spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}
