/**
 * The floor of the same API server, measured beside the failovers: a write and the watch event it causes, with
 * no controller in between. Two kinds: a plain pod status patch (the floor) and an EndpointSlice replace
 * (the very write a failover ends with). Each is timed from sending the write (one write round trip plus one watch
 * delivery) and from its acknowledgement.
 */
import type { KubeClient } from "../core/kube/client.ts";
import { EndpointSlices } from "../core/kube/paths.ts";
import type { EndpointSlice, KubeObject } from "../core/kube/types.ts";

export interface FloorSample {
  /** From sending the write to the watch event. */
  roundTripMs: number;
  /** From the acknowledged write to the watch event (negative when the event arrived first). */
  afterAckMs: number;
}

/** What a probe writes and how it recognises its own write on the watch. */
interface ProbeTarget {
  operation: string;
  /** Collection path of the watched object (`.../namespaces/<ns>/<plural>`). */
  collection: string;
  name: string;
  /** The marker a written object carries, if any. */
  marker(obj: KubeObject): string | undefined;
  /** Writes `marker` into the object; resolves when the API server acknowledged. */
  write(marker: string): Promise<void>;
}

export class FloorProbe {
  private seq = 0;
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly abort = new AbortController();
  private watching?: Promise<void>;

  constructor(private readonly client: KubeClient, private readonly t: ProbeTarget) {}

  /** Opens the watch of the object (restarted if the server ends it) and absorbs one warm-up sample. */
  async start(): Promise<void> {
    const fieldSelector = `metadata.name=${this.t.name}`;
    let rv: string | undefined = (await this.client.request<{ metadata: { resourceVersion?: string } }>({
      operation: `${this.t.operation}_list`,
      method: "GET",
      path: this.t.collection,
      query: { fieldSelector },
    })).metadata.resourceVersion;
    this.watching = (async () => {
      while (!this.abort.signal.aborted) {
        try {
          const events = this.client.watch<KubeObject>(
            this.t.collection,
            { fieldSelector, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 600 },
            this.abort.signal,
            { operation: `${this.t.operation}_watch` },
          );
          for await (const ev of events) {
            const at = performance.now();
            rv = ev.object.metadata.resourceVersion ?? rv;
            const marker = this.t.marker(ev.object);
            const wake = marker ? this.waiters.get(marker) : undefined;
            if (wake) wake(at);
          }
        } catch (e) {
          if (this.abort.signal.aborted) return;
          console.error(`floor watch (${this.t.operation}) restarted: ${e}`);
          rv = undefined;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
    // The watch opens lazily: warm-up samples until one is seen, so the first real sample finds it open.
    for (let i = 0; i < 20; i++) {
      try {
        await this.sample(500);
        return;
      } catch { /* not open yet */ }
    }
    throw new Error(
      `floor (${this.t.operation}): the watch of ${this.t.collection}/${this.t.name} never saw a write`,
    );
  }

  /** One write and its event; rejects when no event comes within `timeoutMs`. */
  async sample(timeoutMs = 10_000): Promise<FloorSample> {
    const marker = `floor-${++this.seq}-${Date.now()}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const seen = new Promise<number>((resolve, reject) => {
      this.waiters.set(marker, resolve);
      timer = setTimeout(
        () =>
          reject(new Error(`floor (${this.t.operation}): no watch event for ${marker} in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    seen.catch(() => {}); // observed below; a failed write must not leave it unhandled
    try {
      const sent = performance.now();
      await this.t.write(marker);
      const acked = performance.now();
      const at = await seen;
      return { roundTripMs: at - sent, afterAckMs: at - acked };
    } finally {
      clearTimeout(timer);
      this.waiters.delete(marker);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.watching;
  }
}

const CONDITION = "zen-lead.io/BenchFloor";
const MARK = "zen-lead.io/bench-floor";

/** Pod status patch -> watch event, on a pod that no opted-in Service selects. */
export function podStatusFloor(client: KubeClient, namespace: string, pod: string) {
  const collection = `/api/v1/namespaces/${namespace}/pods`;
  return new FloorProbe(client, {
    operation: "bench_floor_pod_status",
    collection,
    name: pod,
    marker: (o) =>
      ((o as { status?: { conditions?: { type: string; message?: string }[] } }).status?.conditions ?? [])
        .find((c) => c.type === CONDITION)?.message,
    write: async (marker) => {
      await client.request({
        operation: "bench_floor_pod_status",
        method: "PATCH",
        path: `${collection}/${pod}/status`,
        // Strategic merge keys conditions by type: only the bench's own condition changes.
        contentType: "application/strategic-merge-patch+json",
        body: { status: { conditions: [{ type: CONDITION, status: "True", message: marker }] } },
      });
    },
  });
}

/**
 * EndpointSlice replace -> watch event: the write that ends every failover, on a slice of the bench's own
 * (a different manager label, so zen-lead never touches it). Created on first use.
 */
export async function sliceFloor(client: KubeClient, namespace: string, name: string) {
  let current = await client.create<EndpointSlice>(EndpointSlices, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace,
      labels: {
        "endpointslice.kubernetes.io/managed-by": "zen-lead-bench",
        "kubernetes.io/service-name": name,
      },
    },
    addressType: "IPv4",
    endpoints: [],
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  });
  let flip = 0;
  return new FloorProbe(client, {
    operation: "bench_floor_slice",
    collection: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
    name,
    marker: (o) => o.metadata.annotations?.[MARK],
    write: async (marker) => {
      // Like a failover: the one endpoint moves to another address.
      flip ^= 1;
      current = await client.replace<EndpointSlice>(EndpointSlices, {
        ...current,
        metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, [MARK]: marker } },
        endpoints: [{ addresses: [`192.0.2.${10 + flip}`], conditions: { ready: true } }],
      });
    },
  });
}
