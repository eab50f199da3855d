/**
 * `deno task chaos`: faults injected into a real local control plane with two zen-lead replicas, checked from
 * the API server's state (what each leader must be) and its audit log (no write by a replica that did not hold
 * the Lease). Prints a table and writes bench/results/chaos.json.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { distribution, round } from "../../bench/stats.ts";
import { CONTROLLER_NS } from "../e2e/_env.ts";
import { type AuditFindings, nonHolderWrites, parseAudit } from "./audit.ts";
import { LEASE_NAME, startChaosEnv } from "./env.ts";
import { ChaosRounds, type RoundResult, type ScenarioName, SCENARIOS } from "./scenarios.ts";

export const USAGE = `Usage: deno task chaos [flags]

  --services N       Services, each with --pods pods (default 50)
  --pods N           pods per Service (default 3)
  --rounds N         rounds of each scenario (default 10)
  --scenarios LIST   letters of the scenarios to run (default abcde):
                     a kube-apiserver kill -9 and restart (3-6 s and long outages)
                     b the active replica SIGKILLed / SIGTERMed
                     c etcd SIGSTOP
                     d stalled connection / one-way partition of the active replica, with and without a standby
                     e every pod deleted and recreated at once
  --long-outage S    longest API server outage in seconds (default 60; outages draw from 20..S)
  --etcd-pause S     longest etcd pause in seconds (default 40; pauses draw from 5..S)
  --out PATH         JSON results (default bench/results/chaos.json)`;

export interface ChaosOptions {
  services: number;
  pods: number;
  rounds: number;
  scenarios: ScenarioName[];
  longOutageS: number;
  etcdPauseS: number;
  out?: string;
}

export interface ScenarioSummary {
  scenario: ScenarioName;
  rounds: number;
  faults: string[];
  failovers: number;
  wrongLeaders: number;
  lostFailovers: number;
  nonHolderWrites: number;
  rejectedNonHolderWrites: number;
  convergenceMs: { p50: number; max: number };
  afterFaultMs: { p50: number; max: number };
  takeoverMs?: { p50: number; max: number };
}

export interface ChaosReport {
  options: ChaosOptions;
  scenarios: ScenarioSummary[];
  audit: { managedWrites: number; nonHolderWrites: AuditFindings["successful"]; rejected: number };
  rounds: RoundResult[];
}

function pm(samples: number[]): { p50: number; max: number } {
  const d = distribution(samples);
  return { p50: round(d.p50, 0), max: round(d.max, 0) };
}

export async function runChaos(
  o: ChaosOptions,
  log: (line: string) => void = console.log,
): Promise<ChaosReport> {
  const env = await startChaosEnv({ services: o.services, podsPerService: o.pods, replicas: 2 });
  const results: RoundResult[] = [];
  let audit = "";
  try {
    const rounds = new ChaosRounds(env, {
      longOutageMs: [20_000, Math.max(20_000, o.longOutageS * 1000)],
      etcdPauseMs: [5_000, Math.max(5_000, o.etcdPauseS * 1000)],
      partitionMs: [18_000, 25_000],
      convergeBoundMs: 45_000,
    });
    for (const scenario of o.scenarios) {
      for (let r = 1; r <= o.rounds; r++) {
        const res = await rounds.run(scenario, r);
        results.push(res);
        log(
          `[chaos] ${scenario} #${r}: ${res.fault}; ${res.failovers} failovers; converged ` +
            `${res.convergenceMs === undefined ? "NEVER" : `${res.convergenceMs} ms`}` +
            (res.takeoverMs !== undefined ? `; takeover ${res.takeoverMs} ms` : "") +
            `; wrong ${res.wrongLeaders}, lost ${res.lostFailovers}` +
            (res.problems.length ? ` (${res.problems.join("; ")})` : ""),
        );
      }
    }
  } finally {
    audit = await env.stop().catch((e) => {
      log(`[chaos] stop failed: ${e}`);
      return "";
    });
  }
  return report(o, results, audit, env.ns, new Map(env.replicas.map((r) => [r.username, r.id])));
}

function report(
  o: ChaosOptions,
  results: RoundResult[],
  auditText: string,
  ns: string,
  identities: Map<string, string>,
): ChaosReport {
  const findings = nonHolderWrites(parseAudit(auditText), {
    leaseNamespace: CONTROLLER_NS,
    leaseName: LEASE_NAME,
    identityOf: (u) => identities.get(u),
    managed: (ref) =>
      ref.namespace === ns && (ref.resource === "endpointslices" || ref.resource === "services") &&
      (ref.name ?? "").endsWith("-leader"),
  });
  const within = (at: string, rs: RoundResult[]) => rs.some((r) => at >= r.startedAt && at <= r.endedAt);
  const scenarios = o.scenarios.map((scenario): ScenarioSummary => {
    const rs = results.filter((r) => r.scenario === scenario);
    const takeovers = rs.map((r) => r.takeoverMs).filter((t): t is number => t !== undefined);
    return {
      scenario,
      rounds: rs.length,
      faults: rs.map((r) => r.fault),
      failovers: rs.reduce((n, r) => n + r.failovers, 0),
      wrongLeaders: rs.reduce((n, r) => n + r.wrongLeaders, 0),
      lostFailovers: rs.reduce((n, r) => n + r.lostFailovers, 0),
      nonHolderWrites: findings.successful.filter((w) => within(w.at, rs)).length,
      rejectedNonHolderWrites: findings.rejected.filter((w) => within(w.at, rs)).length,
      convergenceMs: pm(rs.map((r) => r.convergenceMs).filter((t): t is number => t !== undefined)),
      afterFaultMs: pm(rs.map((r) => r.afterFaultMs).filter((t): t is number => t !== undefined)),
      ...(takeovers.length ? { takeoverMs: pm(takeovers) } : {}),
    };
  });
  return {
    options: o,
    scenarios,
    audit: {
      managedWrites: findings.managedWrites,
      nonHolderWrites: findings.successful,
      rejected: findings.rejected.length,
    },
    rounds: results,
  };
}

export function table(r: ChaosReport): string {
  const head =
    "| scenario | rounds | failovers | wrong leaders | lost failovers | non-holder writes (rejected) | convergence p50 / max | after fault end p50 / max | takeover p50 / max |";
  const rows = r.scenarios.map((s) =>
    `| ${s.scenario} | ${s.rounds} | ${s.failovers} | ${s.wrongLeaders} | ${s.lostFailovers} | ${s.nonHolderWrites} (${s.rejectedNonHolderWrites}) | ` +
    `${s.convergenceMs.p50} / ${s.convergenceMs.max} ms | ${s.afterFaultMs.p50} / ${s.afterFaultMs.max} ms | ` +
    `${s.takeoverMs ? `${s.takeoverMs.p50} / ${s.takeoverMs.max} ms` : "-"} |`
  );
  return [head, "|---|---|---|---|---|---|---|---|---|", ...rows].join("\n");
}

export function parseChaosArgs(args: string[]): ChaosOptions {
  const { values } = parseArgs({
    args,
    options: {
      services: { type: "string", default: "50" },
      pods: { type: "string", default: "3" },
      rounds: { type: "string", default: "10" },
      scenarios: { type: "string", default: "abcde" },
      "long-outage": { type: "string", default: "60" },
      "etcd-pause": { type: "string", default: "40" },
      out: { type: "string", default: "bench/results/chaos.json" },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`--${name}: expected a whole number >= ${min}, received "${v}"`);
    }
    return n;
  };
  const letters = [...values.scenarios];
  const bad = letters.find((l) => !SCENARIOS[l]);
  if (bad) throw new Error(`--scenarios: expected letters from abcde, received "${values.scenarios}"`);
  return {
    services: int("services", values.services, 1),
    pods: int("pods", values.pods, 2),
    rounds: int("rounds", values.rounds, 1),
    scenarios: letters.map((l) => SCENARIOS[l]),
    longOutageS: int("long-outage", values["long-outage"], 20),
    etcdPauseS: int("etcd-pause", values["etcd-pause"], 5),
    out: values.out,
  };
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  let opts: ChaosOptions;
  try {
    opts = parseChaosArgs(Deno.args);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  const r = await runChaos(opts);
  console.log(table(r));
  console.log(
    `audit: ${r.audit.managedWrites} writes to managed objects by replicas, ` +
      `${r.audit.nonHolderWrites.length} by a non-holder, ${r.audit.rejected} non-holder attempts rejected`,
  );
  const out = opts.out!.startsWith("/")
    ? opts.out!
    : fileURLToPath(new URL(`../../${opts.out}`, import.meta.url));
  await Deno.writeTextFile(out, JSON.stringify(r, null, 2) + "\n");
  console.log(`wrote ${opts.out}`);
  const failed = r.scenarios.some((s) => s.wrongLeaders + s.lostFailovers > 0) ||
    r.audit.nonHolderWrites.length > 0;
  Deno.exit(failed ? 1 : 0);
}
