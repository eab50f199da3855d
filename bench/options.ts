/** `deno task bench` flags: which scales to run, how many failovers to sample, the churn run, the target cluster. */

export interface BenchOptions {
  /** Opted-in Services per run (one run per scale, in order). */
  scales: number[];
  podsPerService: number;
  /** Services spread over namespaces of this size. */
  servicesPerNamespace: number;
  /** Failovers sampled per kind (readiness flip, pod deletion). */
  samples: number;
  /** Length of the churn run in minutes; 0 skips it. */
  churnMinutes: number;
  /** The scale the churn run follows (default 1,000 when it runs, else the largest). */
  churnScale?: number;
  /** Pods replaced per second during churn. */
  churnRate: number;
  /** An existing cluster; absent: a local control plane from tests/harness per scale. */
  kubeconfig?: string;
  /** Extra flags for the controller process (repeat --controller-arg). */
  controllerArgs: string[];
  /** Added to the controller's DENO_V8_FLAGS (the bench's own V8 keeps its defaults). */
  controllerV8Flags: string;
  outDir: string;
  /** Pod creations in flight at once. */
  createConcurrency: number;
  /** A failover not seen within this long counts as failed. */
  failoverTimeoutMs: number;
  /** Least time between the starts of two sampled failovers. */
  paceMs: number;
  /** Seconds to wait for convergence before the run is declared failed. */
  convergenceTimeoutS: number;
  /** Pods and Services nothing opts in, over `backgroundNamespaces` namespaces of their own. */
  backgroundPods: number;
  backgroundServices: number;
  backgroundNamespaces: number;
  /** Background pod status updates per second during the churn window (0: none). */
  backgroundChurn: number;
  /** Length of the idle window and of the churn window that follows it, seconds. */
  backgroundChurnSeconds: number;
  /** Heap snapshots of the controller at steady state and after the failovers, summarized by class. */
  heapSnapshots: boolean;
  help: boolean;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  scales: [100, 1000, 5000],
  podsPerService: 3,
  servicesPerNamespace: 100,
  samples: 200,
  churnMinutes: 10,
  churnRate: 5,
  controllerArgs: [],
  controllerV8Flags: "",
  outDir: "bench/results",
  createConcurrency: 32,
  failoverTimeoutMs: 10_000,
  paceMs: 200,
  convergenceTimeoutS: 900,
  backgroundPods: 0,
  backgroundServices: 0,
  backgroundNamespaces: 200,
  backgroundChurn: 0,
  backgroundChurnSeconds: 30,
  heapSnapshots: false,
  help: false,
};

export const OPTIONS_HELP = `deno task bench [flags]
  --scales=100,1000,5000        opted-in Services per run (each run on a fresh fleet)
  --pods-per-service=3          pods behind each Service (at least 2, so a failover has somewhere to go)
  --services-per-namespace=100  Services per namespace
  --samples=200                 failovers sampled per kind (readiness flip, pod deletion)
  --churn-minutes=10            pods replaced continuously for this long after the churn scale; 0 skips it
  --churn-scale=N               which scale the churn run follows (default 1000 if listed, else the largest)
  --churn-rate=5                pods replaced per second during churn
  --kubeconfig=PATH             run against this cluster instead of a local control plane
  --controller-arg=FLAG         extra flag for the controller process (repeatable), e.g. --controller-arg=--qps=200
  --controller-v8-flags=FLAGS   added to the controller's DENO_V8_FLAGS, e.g. --max-old-space-size=256 (comma-separate several)
  --out=bench/results           where <scale>.json, <scale>.details.json and the SVG charts go
  --create-concurrency=32       pod creations in flight
  --failover-timeout-ms=10000   a failover not seen on the watch within this long counts as failed
  --pace-ms=200                 least time between two sampled failovers (0: back to back)
  --convergence-timeout-s=900   give up on convergence after this long
  --background-pods=0           Running pods that no opted-in Service selects (a large cluster's rest)
  --background-services=0       Services that are not opted in, selecting the background pods
  --background-namespaces=200   namespaces the background pods and Services are spread over
  --background-churn=0          background pod status updates per second, measured after an idle window
  --background-churn-seconds=30 length of the idle window and of the churn window
  --heap-snapshots              summarize the controller's heap by class at steady state and after the failovers
                                (what the failovers added); a snapshot costs ~5x the controller's heap here
                                and its memory stays in the controller's RSS, so later RSS readings are inflated`;

export class BenchOptionError extends Error {}

function positiveInt(flag: string, raw: string, min = 1): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new BenchOptionError(
      `--${flag}: expected a whole number >= ${min}, received ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** Parses `--name=value` / `--name value` flags over the defaults; unknown flags are errors naming the flag. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = { ...DEFAULT_OPTIONS, scales: [...DEFAULT_OPTIONS.scales], controllerArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      o.help = true;
      continue;
    }
    if (arg === "--heap-snapshots") {
      o.heapSnapshots = true;
      continue;
    }
    const m = arg.match(/^--([a-z0-9-]+)(?:=(.*))?$/s);
    if (!m) throw new BenchOptionError(`expected a flag like --scales=100, received ${JSON.stringify(arg)}`);
    const flag = m[1];
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new BenchOptionError(`--${flag}: expected a value, received nothing`);
    }
    switch (flag) {
      case "scales":
        o.scales = value.split(",").map((s) => positiveInt(flag, s.trim()));
        break;
      case "pods-per-service":
        o.podsPerService = positiveInt(flag, value, 2);
        break;
      case "services-per-namespace":
        o.servicesPerNamespace = positiveInt(flag, value);
        break;
      case "samples":
        o.samples = positiveInt(flag, value);
        break;
      case "churn-minutes": {
        const n = Number(value);
        if (value.trim() === "" || !(n >= 0)) {
          throw new BenchOptionError(`--${flag}: expected minutes >= 0, received ${JSON.stringify(value)}`);
        }
        o.churnMinutes = n;
        break;
      }
      case "churn-scale":
        o.churnScale = positiveInt(flag, value);
        break;
      case "churn-rate": {
        const n = Number(value);
        if (value.trim() === "" || !(n > 0)) {
          throw new BenchOptionError(
            `--${flag}: expected pods per second > 0, received ${JSON.stringify(value)}`,
          );
        }
        o.churnRate = n;
        break;
      }
      case "kubeconfig":
        o.kubeconfig = value;
        break;
      case "controller-arg":
        o.controllerArgs.push(value);
        break;
      case "controller-v8-flags":
        o.controllerV8Flags = value;
        break;
      case "out":
        o.outDir = value.replace(/\/+$/, "");
        break;
      case "create-concurrency":
        o.createConcurrency = positiveInt(flag, value);
        break;
      case "failover-timeout-ms":
        o.failoverTimeoutMs = positiveInt(flag, value);
        break;
      case "pace-ms":
        o.paceMs = positiveInt(flag, value, 0);
        break;
      case "convergence-timeout-s":
        o.convergenceTimeoutS = positiveInt(flag, value);
        break;
      case "background-pods":
        o.backgroundPods = positiveInt(flag, value, 0);
        break;
      case "background-services":
        o.backgroundServices = positiveInt(flag, value, 0);
        break;
      case "background-namespaces":
        o.backgroundNamespaces = positiveInt(flag, value);
        break;
      case "background-churn":
        o.backgroundChurn = positiveInt(flag, value, 0);
        break;
      case "background-churn-seconds":
        o.backgroundChurnSeconds = positiveInt(flag, value);
        break;
      default:
        throw new BenchOptionError(`unknown flag --${flag}; run with --help for the list`);
    }
  }
  if (o.churnScale !== undefined && !o.scales.includes(o.churnScale)) {
    throw new BenchOptionError(
      `--churn-scale: expected one of the scales [${o.scales.join(", ")}], received ${o.churnScale}`,
    );
  }
  return o;
}

/** The scale after which the churn run happens, or undefined when it does not run. */
export function churnScaleOf(o: BenchOptions): number | undefined {
  if (o.churnMinutes <= 0) return undefined;
  if (o.churnScale !== undefined) return o.churnScale;
  return o.scales.includes(1000) ? 1000 : Math.max(...o.scales);
}
