/**
 * The memory ceilings of what each failover leaves behind, by design and bounded: the status page's leader history
 * (at most MAX_CHANGES), the Event recorder's series (an LRU of 5,000: each failover's LeaderChanged message
 * names a new pod) and the per-Service failover counters (one series per Service and reason). Filled to their
 * bounds with the controller's own classes and realistic keys; post-GC heap deltas, so a churn run's heap trend
 * can be read against them. Each store is measured in a process of its own (one process's sweeping of another
 * store's garbage would blur the deltas).
 *
 *   deno run -A bench/bounded_memory.ts [--services=1000]
 */
import { type EventSink, KubeEventRecorder } from "../core/controller/events.ts";
import { RootLogger } from "../core/log.ts";
import { MetricsRegistry } from "../core/metrics/registry.ts";
import { LeaderHistory, MAX_CHANGES } from "../core/status/history.ts";

const arg = Deno.args.find((a) => a.startsWith("--services="));
const services = arg ? Number(arg.slice("--services=".length)) : 1000;
if (!Number.isInteger(services) || services < 1) {
  console.error(`--services: expected a whole number >= 1, received ${JSON.stringify(arg)}`);
  Deno.exit(2);
}

const MB = 2 ** 20;
const STORES = ["leaderHistory", "eventSeries", "failoverCounters"] as const;
type Store = typeof STORES[number];

const gc = (globalThis as { gc?: () => void }).gc;
const heap = async () => {
  // Let the background writes and V8's concurrent sweeping settle, then collect twice.
  await new Promise((r) => setTimeout(r, 100));
  gc!();
  gc!();
  return Deno.memoryUsage().heapUsed;
};
/** Fresh strings, as a watch event's JSON would give them (no sharing with a template). */
const fresh = (s: string) => JSON.parse(JSON.stringify(s)) as string;
const svcKey = (i: number) => fresh(`zlb-1000-ab12-ns${Math.floor(i / 100)}/svc-${i}`);
const podName = (i: number, n: number) => fresh(`svc-${i}-${n.toString(36)}${"x".repeat(5)}`);

const silent: EventSink = {
  create: () => Promise.resolve({ metadata: { name: "e" } }),
  get: () => Promise.resolve(undefined),
  patchCount: () => Promise.resolve(),
};

/** Fills one store to its bound; returns its post-GC heap delta and how many entries it holds. */
async function fill(store: Store): Promise<{ entries: number; bytes: number }> {
  const before = await heap();
  const keep: unknown[] = [];
  let entries = 0;
  if (store === "leaderHistory") {
    const history = new LeaderHistory();
    keep.push(history);
    for (let n = 0; n < MAX_CHANGES; n++) {
      const i = n % services;
      history.record({
        service: svcKey(i),
        at: new Date(1_765_000_000_000 + n * 100).toISOString(),
        from: podName(i, n),
        to: podName(i, n + 1),
        reason: "notReady",
        failover: true,
        latencyMs: 3.2,
      });
    }
    entries = history.size;
  } else if (store === "eventSeries") {
    // One series per (Service, reason, message), up to the LRU's 5,000.
    const recorder = new KubeEventRecorder(silent, new RootLogger("error"), "zen-lead", "bench");
    keep.push(recorder);
    for (let n = 0; n < 5_000; n++) {
      const i = n % services;
      const pod = podName(i, n);
      recorder.record(
        {
          kind: "Service",
          namespace: `ns${Math.floor(i / 100)}`,
          name: `svc-${i}`,
          uid: crypto.randomUUID(),
        },
        "Normal",
        "LeaderChanged",
        `leader of svc-${i} is now pod ${pod} (10.244.${n >> 8 & 255}.${n & 255}); reason: notReady`,
      );
    }
    entries = 5_000;
  } else {
    // One series per Service and reason (two reasons seen during churn: notReady, terminating).
    const registry = new MetricsRegistry();
    keep.push(registry);
    const failovers = registry.counter({
      name: "zen_lead_failover_count_total",
      help: "failovers",
      labelNames: ["namespace", "service", "reason"],
    });
    for (let i = 0; i < services; i++) {
      for (const reason of ["notReady", "terminating"]) {
        failovers.inc({ namespace: fresh(`ns${Math.floor(i / 100)}`), service: fresh(`svc-${i}`), reason });
      }
    }
    entries = services * 2;
  }
  const bytes = (await heap()) - before;
  keep.length = 0;
  return { entries, bytes };
}

const partArg = Deno.args.find((a) => a.startsWith("--part="))?.slice("--part=".length);
const part = STORES.find((s) => s === partArg);
if (partArg !== undefined && !part) {
  console.error(`--part: expected one of ${STORES.join(", ")}, received ${JSON.stringify(partArg)}`);
  Deno.exit(2);
}
if (part) {
  console.log(JSON.stringify(await fill(part)));
} else {
  const out: Record<string, unknown> = { services };
  let total = 0;
  for (const store of STORES) {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--v8-flags=--expose-gc",
        "-A",
        import.meta.filename!,
        `--services=${services}`,
        `--part=${store}`,
      ],
      stdout: "piped",
    }).output();
    if (!run.success) throw new Error(`measuring ${store} failed`);
    const r = JSON.parse(new TextDecoder().decode(run.stdout)) as { entries: number; bytes: number };
    out[store] = {
      entries: r.entries,
      mb: +(r.bytes / MB).toFixed(2),
      bytesPerEntry: Math.round(r.bytes / r.entries),
    };
    total += r.bytes;
  }
  out.totalMb = +(total / MB).toFixed(2);
  console.log(JSON.stringify(out, null, 2));
}
