/**
 * Random operation sequences against the engine over the real HTTP stack (ArmClient, FetchHttpClient,
 * core-rest-pipeline) and the ARM emulator, built as the plugin builds it, under faults on every write route
 * (applied then failed, hung with or without applying, applied late, Failed on a 200 poll, 5xx, 409, 429) and
 * restarts. The checker classifies what is left after the settle bound: lost, leaked, never settled. Shared by
 * the CI test (a few hundred sequences) and `deno task bench:azure` (thousands).
 */
import fc from "fast-check";
import * as v from "valibot";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import type { BackendServiceState, BackendStatus } from "../../core/plugin/types.ts";
import { armClientOf, engineConfigOf, gatewayOpsOf } from "../../plugins/azure-servicegateway/create.ts";
import { ServiceGatewayEngine } from "../../plugins/azure-servicegateway/engine/engine.ts";
import { engineMetrics } from "../../plugins/azure-servicegateway/engine/metrics.ts";
import { optionsSchema } from "../../plugins/azure-servicegateway/options.ts";
import {
  type ArmEmulator,
  type Fault,
  RESPONSE_MODES,
  type ResponseMode,
  type RouteName,
  startArmEmulator,
} from "../emulators/arm/emulator.ts";
import { check, egressIP, expected, hitsByRoute, isRemoval, nodeOf } from "./azure_checker.ts";
import { CountingClock, GuardedApi } from "./azure_guards.ts";
import { API_VERSION, gatewayAt, TOKEN } from "./azure_helpers.ts";

export { addOutcome, emptyTotals, type Totals } from "./azure_checker.ts";

const MAX_IN_FLIGHT = 3;
const TRACE = Deno.env.get("AZURE_TRACE") === "1";

export type Step =
  | { op: "apply"; uid: string; pods: string[]; port: number }
  | { op: "remove"; uid: string }
  | { op: "addPod"; pod: string; egress: string }
  | { op: "deletePod"; pod: string }
  | { op: "fault"; fault: Fault }
  | { op: "restart" }
  | { op: "pause"; ms: number };

export interface Sequence {
  mode: ResponseMode;
  steps: Step[];
}

const FAULT_ROUTES: RouteName[] = [
  "updateServices",
  "updateAddressLocations",
  "publicIPAddresses",
  "loadBalancers",
  "natGateways",
  "operations",
];
const podIP = fc.integer({ min: 1, max: 8 }).map((n) => `10.0.0.${n}`);
const faultArb: fc.Arbitrary<Fault> = fc.record({
  route: fc.constantFrom(...FAULT_ROUTES),
  after: fc.nat(3),
  kind: fc.constantFrom(
    "applyThenError",
    "applyThenError",
    "hang",
    "hang",
    "applyLater",
    "error",
    "pollFailed",
  ),
  apply: fc.boolean(),
  status: fc.constantFrom(500, 503, 504, 409, 429),
  delayMs: fc.integer({ min: 20, max: 400 }),
}).map((f) => {
  // A poll answers GET: Failed-on-200 belongs to the write itself; 429 carries Retry-After.
  const kind = f.kind === "pollFailed" && f.route === "operations" ? "error" : f.kind;
  const status = kind === "error" ? f.status : f.status === 409 || f.status === 429 ? 500 : f.status;
  return { ...f, kind, status, ...(status === 429 ? { retryAfter: "0" } : {}) };
});
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("apply" as const),
      uid: fc.constantFrom("a", "b", "c"),
      pods: fc.uniqueArray(podIP, { maxLength: 2 }),
      port: fc.constantFrom(80, 81),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("remove" as const), uid: fc.constantFrom("a", "b", "c") }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("addPod" as const),
      pod: fc.constantFrom("p1", "p2", "p3"),
      egress: fc.constantFrom("e1", "e2"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("deletePod" as const), pod: fc.constantFrom("p1", "p2", "p3") }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("fault" as const), fault: faultArb }) },
  { weight: 1, arbitrary: fc.constant({ op: "restart" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("pause" as const), ms: fc.integer({ min: 5, max: 200 }) }),
  },
);

/** Sequences; half of them end by removing everything, so every created service goes the removal path. */
export const sequenceArb: fc.Arbitrary<Sequence> = fc.record({
  mode: fc.constantFrom(...RESPONSE_MODES),
  steps: fc.array(stepArb, { minLength: 4, maxLength: 16 }),
  removeAll: fc.boolean(),
}).map(({ mode, steps, removeAll }) => ({
  mode,
  steps: removeAll
    ? [
      ...steps,
      { op: "pause", ms: 30 } as Step,
      ...["a", "b", "c"].map((uid) => ({ op: "remove", uid }) as Step),
      ...["p1", "p2", "p3"].map((pod) => ({ op: "deletePod", pod }) as Step),
    ]
    : steps,
}));

/** What a sequence (or a run of them) did to the gateway: faults scripted and hit, restarts, requests. */
export interface FaultCounts {
  faults: number;
  /** Requests a fault hit (a scripted fault can hit twice, or never when no request matches it). */
  faultsHit: number;
  /** Requests hit, by `route fault` (removal writes counted again as `route fault removal`). */
  hitsByRoute: Record<string, number>;
  /** Faults that hit a write removing addresses, unregistering a service or deleting a resource. */
  removalFaults: number;
  restarts: number;
  requests: number;
}

export interface Outcome extends FaultCounts {
  lost: string[];
  leaked: string[];
  unsettled: string[];
  guard: string[];
  ms: number;
}

function desiredService(uid: string, pods: readonly string[], port: number): BackendServiceState {
  return {
    key: `default/svc-${uid}`,
    uid,
    ports: [{ name: "http", port, targetPort: 8080, protocol: "TCP" }],
    leaders: pods.map((ip) => ({ podName: `pod-${ip}`, podUID: `uid-${ip}`, podIP: ip, nodeIP: nodeOf(ip) })),
  };
}

export function sequenceOptions(url: string) {
  return v.parse(optionsSchema, {
    ...gatewayAt(url),
    maxConcurrentOperations: MAX_IN_FLIGHT,
    timeouts: {
      requestMs: 150,
      lroMs: 2_000,
      pollIntervalMs: 1,
      operationMs: 3_000,
      locationsMs: 3_000,
      drainMs: 100,
      orphanGraceMs: 60_000,
      reconcileMs: 400,
      reconcileAfterFailureMs: 30,
    },
    retry: {
      maxRetries: 1,
      retryDelayMs: 1,
      maxRetryDelayMs: 5,
      maxThrottleWaitMs: 500,
      throttleAttempts: 3,
    },
    backoff: { baseMs: 5, maxMs: 40, jitter: 0.2, parkAfterAttempts: 12, parkMs: 200 },
  });
}

interface Process {
  engine: ServiceGatewayEngine;
  api: GuardedApi;
  clock: CountingClock;
}

function startProcess(emulator: ArmEmulator, statuses: Map<string, BackendStatus>): Process {
  const o = sequenceOptions(emulator.url);
  const metrics = engineMetrics(new MetricsRegistry());
  const clock = new CountingClock();
  const api = new GuardedApi(gatewayOpsOf(o, armClientOf(o, metrics, clock)), o.maxConcurrentOperations);
  const engine = new ServiceGatewayEngine({
    api,
    clock,
    // AZURE_TRACE=1 prints the engine's log and every status, to replay a failing sequence.
    logger: TRACE ? new RootLogger("info", (line) => console.log(line)) : new RootLogger("error", () => {}),
    metrics,
    config: engineConfigOf(o),
  });
  engine.onStatus((key, status) => {
    if (TRACE) console.log("status", key, JSON.stringify(status));
    if (!status.warning) statuses.set(key, status);
  });
  return { engine, api, clock };
}

/** Runs one sequence and classifies what is left once it settled, or once `settleMs` passed. */
export async function runSequence(seq: Sequence, settleMs = 15_000): Promise<Outcome> {
  const t0 = performance.now();
  const emulator = startArmEmulator({ token: TOKEN, apiVersion: API_VERSION });
  emulator.setMode("*", seq.mode);
  // What Kubernetes holds: the Services' statuses survive a controller restart.
  const statuses = new Map<string, BackendStatus>();
  const services = new Map<string, { pods: string[]; port: number }>();
  const egress = new Map<string, string>();
  const everApplied = new Set<string>();
  const guard: string[] = [];
  let restarts = 0;
  let faults = 0;
  let p = startProcess(emulator, statuses);
  const stop = async (proc: Process) => {
    await proc.engine.close();
    proc.api.markClosed();
    if (proc.clock.pending > 0) guard.push(`${proc.clock.pending} timers left after close()`);
    guard.push(...proc.api.violations);
  };
  try {
    await p.engine.start();
    p.engine.resyncDone(); // as the controller does once it has applied every Service (none yet)
    for (const [i, s] of seq.steps.entries()) {
      if (s.op === "apply") {
        services.set(s.uid, { pods: s.pods, port: s.port });
        everApplied.add(s.uid);
        p.engine.apply(desiredService(s.uid, s.pods, s.port));
      } else if (s.op === "remove") {
        services.delete(s.uid);
        p.engine.remove(`default/svc-${s.uid}`, s.uid);
      } else if (s.op === "addPod") {
        egress.set(s.pod, s.egress);
        p.engine.addPod({
          uid: s.pod,
          ip: egressIP(s.pod),
          nodeIP: nodeOf(egressIP(s.pod)),
          egress: s.egress,
        });
      } else if (s.op === "deletePod") {
        egress.delete(s.pod);
        p.engine.deletePod(s.pod);
      } else if (s.op === "fault") {
        faults++;
        emulator.script([s.fault]);
      } else if (s.op === "pause") {
        await new Promise((r) => setTimeout(r, s.ms));
      } else {
        // A restart: the old process drains briefly and stops; the new one lists and re-applies everything.
        restarts++;
        await stop(p);
        p = startProcess(emulator, statuses);
        await p.engine.start();
        for (const [uid, d] of services) p.engine.apply(desiredService(uid, d.pods, d.port));
        p.engine.applyEgress(
          [...egress].map(([uid, e]) => ({
            uid,
            ip: egressIP(uid),
            nodeIP: nodeOf(egressIP(uid)),
            egress: e,
          })),
        );
        p.engine.resyncDone();
      }
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    const want = expected(services, egress);
    const deadline = Date.now() + settleMs;
    let verdict = check(emulator, p.engine, statuses, want, services, everApplied);
    while (!verdict.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      verdict = check(emulator, p.engine, statuses, want, services, everApplied);
    }
    await stop(p);
    // ServiceInUse: the engine unregistered a service that addresses still referenced. Only a write the gateway
    // applied late (after answering an error, so no client could know) may excuse it.
    const firstLate = emulator.requests.findIndex((r) => r.fault === "applyLater");
    emulator.requests.forEach((r, i) => {
      if (r.route !== "updateServices" || r.status !== 409 || r.fault) return;
      if (firstLate < 0 || i < firstLate) guard.push(`ARM refused ${r.method} updateServices: ServiceInUse`);
    });
    return {
      lost: verdict.lost,
      leaked: verdict.leaked,
      unsettled: verdict.unsettled,
      guard,
      faults,
      faultsHit: emulator.requests.filter((r) => r.fault).length,
      hitsByRoute: hitsByRoute(emulator),
      removalFaults: emulator.requests.filter((r) => r.fault && isRemoval(r.method, r.route, r.body)).length,
      restarts,
      requests: emulator.requests.length,
      ms: performance.now() - t0,
    };
  } finally {
    await p.engine.close();
    await emulator.close();
  }
}

/** Runs sequences `concurrency` at a time (each with its own emulator); `onDone` sees each outcome. */
export async function runMany(
  seqs: readonly Sequence[],
  concurrency: number,
  onDone: (seq: Sequence, outcome: Outcome, index: number) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < seqs.length; i = next++) onDone(seqs[i], await runSequence(seqs[i]), i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, seqs.length) }, worker));
}
