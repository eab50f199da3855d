/**
 * The explanation of one Service's leader decision. Pure: it runs the controller's own functions (settings
 * parsing, leader name, eligibility, the strategy plugin through decideLeaders, port resolution) on a snapshot of
 * cluster state, and describes each step's inputs and outcome.
 */
import type { EndpointSlice, Node, Pod, Service } from "../kube/types.ts";
import type { LeaderStrategy, NodeView } from "../plugin/types.ts";
import type { ServiceDefaults } from "../config/schema.ts";
import type { ProbeState } from "../probing/threshold.ts";
import { ANN, isOptedIn } from "../leader/annotations.ts";
import { decideLeaders } from "../leader/decide.ts";
import { effectiveLeaderName } from "../leader/names.ts";
import { ineligibleReason, qualifiesAt, readySince, selectorMatches, toNodeView } from "../leader/pods.ts";
import { resolvePorts } from "../leader/ports.ts";
import { leaderFamily, routableEndpoints } from "../leader/desired_objects.ts";
import { selectLeaders } from "../leader/select.ts";
import { parsePriority } from "../leader/priority.ts";
import {
  parseServiceSettings,
  type ServiceSettings,
  type SettingsContext,
} from "../leader/service_settings.ts";
import { currentLeaderUIDs } from "../controller/read.ts";
import { describeSettings } from "./sources.ts";
import { type CandidateExplanation, EXPLAIN_API_VERSION, type Explanation, type Warning } from "./model.ts";

export interface HealthReport {
  /** Whether the controller's status endpoint answered. */
  reachable: boolean;
  /** Where the states came from, or why none are known. */
  message: string;
  /** Thresholded health by pod UID, as the controller last reported it. */
  states: ReadonlyMap<string, ProbeState>;
}

export interface ExplainInput {
  service: Service;
  /** Pods of the Service's namespace (the selector is applied here, as the controller does). */
  pods: readonly Pod[];
  /** Every Node; undefined when they cannot be read (namespace-scoped access), as for the controller. */
  nodes?: readonly Node[];
  /** zen-lead's leader Services and EndpointSlices for this source (label zen-lead.io/source-service). */
  managedServices: readonly Service[];
  managedSlices: readonly EndpointSlice[];
  ctx: SettingsContext;
  /** The ConfigMap's `defaults:` in force, to say which settings came from it. */
  configDefaults?: ServiceDefaults;
  /** "ConfigMap ns/name (resourceVersion n)" or why none applies. */
  configuration: string;
  strategy(name: string): LeaderStrategy;
  health: HealthReport;
  /** The settings the controller last used (from its status), so a refused annotation shows what it kept. */
  lastGood?: ServiceSettings;
  now: number;
  /** Extra warnings from reading the cluster (plugins explain could not load, ...). */
  warnings?: readonly Warning[];
}

const iso = (ms: number | undefined) => ms === undefined ? undefined : new Date(ms).toISOString();

export function explainService(input: ExplainInput): Explanation {
  const svc = input.service;
  const ns = svc.metadata.namespace ?? "";
  const name = svc.metadata.name ?? "";
  const annotations = svc.metadata.annotations ?? {};
  const selector = svc.spec?.selector ?? {};
  const warnings: Warning[] = [...(input.warnings ?? [])];
  const warn = (kind: string, message: string) => warnings.push({ kind, message });

  const parsed = parseServiceSettings(annotations, input.ctx, input.lastGood, svc.spec?.type);
  const settings = parsed.settings;
  for (const e of parsed.errors) {
    warn(
      "InvalidAnnotation",
      input.lastGood
        ? `${e.message} (the controller keeps this field's last good value, shown here)`
        : `${e.message} (the controller keeps this field's last good value, which only its status endpoint ` +
          `knows; the default is shown here)`,
    );
  }
  const managedName = input.managedServices[0]?.metadata.name;
  const leader = effectiveLeaderName(name, annotations, managedName);
  if (leader.error) warn("InvalidAnnotation", leader.error);
  const observedSvc = input.managedServices.find((s) => s.metadata.name === leader.name);
  const observedSlice = input.managedSlices.find((s) => s.metadata.name === leader.name);
  const currentLeaders = currentLeaderUIDs(observedSlice, observedSvc);

  if (!isOptedIn(annotations)) {
    warn("NotOptedIn", `Service ${ns}/${name} is not opted in (${ANN.enabled} is not exactly "true")`);
  }
  if (Object.keys(selector).length === 0) {
    warn("InvalidService", `Service ${ns}/${name} has no selector; zen-lead creates no leader for it`);
  }
  const pods = input.pods.filter((p) =>
    p.metadata.namespace === ns && selectorMatches(selector, p.metadata.labels)
  );
  const nodes = new Map<string, NodeView>();
  for (const n of input.nodes ?? []) nodes.set(n.metadata.name ?? "", toNodeView(n));
  if (!input.nodes) {
    warn("NodesNotVisible", "Nodes could not be read with this kubeconfig; node state is not known");
  }
  const seed = observedSvc?.metadata.annotations?.[ANN.seed];
  if (!seed && settings.strategy === "random") {
    warn("NoSeed", `no ${ANN.seed} on the leader Service yet; the controller will pick one at random`);
  }
  if (!input.health.reachable && !settings.healthCheck.checker.passive) {
    warn("HealthUnknown", `${settings.healthCheck.type} health is not known here: ${input.health.message}`);
  }

  const decision = decideLeaders({
    service: { namespace: ns, name, uid: svc.metadata.uid ?? "", annotations },
    pods,
    nodes,
    currentLeaders,
    settings,
    strategy: input.strategy(settings.strategy),
    health: (uid) => input.health.states.get(uid)?.healthy,
    seed: seed ?? "explain",
    now: input.now,
  });
  for (const e of decision.priorityErrors) warn("InvalidAnnotation", `pod ${e.pod}: ${e.message}`);
  if (decision.allUnhealthy) {
    warn("AllUnhealthy", `every candidate failed its health check; fail-mode ${settings.failMode} decides`);
  }
  if (decision.noPods) warn("NoPodsFound", `no pods match the selector of Service ${name}`);

  const primary = decision.leaders[0];
  const resolved = primary ? resolvePorts(svc.spec?.ports ?? [], primary) : undefined;
  for (const f of resolved?.failures ?? []) {
    warn(f.named ? "NamedPortResolutionFailed" : "PortResolutionFailed", f.message);
  }
  // What the EndpointSlice would route, by the reconciler's own rules (fail-closed ports, one port set per pool).
  const leaderDecision = {
    leaders: decision.leaders,
    ports: resolved,
    triggeredAt: input.now,
    seed: seed ?? "",
  };
  const routes = routableEndpoints(
    leaderDecision,
    leaderFamily(leaderDecision, observedSvc) ?? "IPv4",
    (pod) => resolvePorts(svc.spec?.ports ?? [], pod),
  ).map((ep) => ep.targetRef?.name ?? "");
  const ports = (svc.spec?.ports ?? []).map((p, i) => {
    const failure = resolved?.failures.find((f) => f.port === p);
    return {
      ...(p.name ? { name: p.name } : {}),
      port: p.port,
      ...(resolved && !failure ? { targetPort: resolved.targets[i] } : {}),
      ...(failure ? { error: failure.message } : {}),
    };
  });

  const leaderUIDs = decision.leaders.map((p) => p.metadata.uid ?? "");
  // The full order of preference without stickiness: the same selection rules, asked for every candidate.
  const preference = selectLeaders({
    ranked: decision.ranked,
    candidates: decision.candidates,
    currentLeaders: [],
    count: decision.candidates.length,
    sticky: false,
  }).leaders;
  const candidates = pods
    .slice()
    .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""))
    .map((pod) =>
      candidateOf(pod, {
        now: input.now,
        health: input.health,
        minReadyMs: settings.minReadyMs,
        passive: settings.healthCheck.checker.passive === true,
        strategy: settings.strategy,
        nodes,
        decision,
        currentLeaders,
        leaderUIDs,
        preference,
      })
    );
  const nameOf = (uid: string) => pods.find((p) => p.metadata.uid === uid)?.metadata.name ?? `(gone: ${uid})`;

  return {
    apiVersion: EXPLAIN_API_VERSION,
    generatedAt: new Date(input.now).toISOString(),
    service: { namespace: ns, name, uid: svc.metadata.uid, optedIn: isOptedIn(annotations), selector },
    leaderService: leader.name,
    configuration: input.configuration,
    settings: describeSettings(
      annotations,
      parsed,
      input.configDefaults,
      svc.spec?.type,
      input.lastGood !== undefined,
    ),
    candidates,
    currentLeaders: currentLeaders.map(nameOf),
    decision: {
      leaders: decision.leaders.map((p) => p.metadata.name ?? ""),
      routes,
      keepsCurrent: currentLeaders.length > 0 && leaderUIDs[0] === currentLeaders[0],
      ...(decision.reason ? { reason: decision.reason } : {}),
      ...(decision.failover ? { failover: decision.failover } : {}),
      ...(decision.requeueAt !== undefined ? { requeueAt: iso(decision.requeueAt) } : {}),
    },
    ports,
    healthSource: { reachable: input.health.reachable, message: input.health.message },
    warnings,
  };
}

/** What one candidate's explanation needs from the Service-level evaluation. */
interface CandidateContext {
  now: number;
  health: HealthReport;
  minReadyMs: number;
  passive: boolean;
  strategy: string;
  nodes: ReadonlyMap<string, NodeView>;
  decision: ReturnType<typeof decideLeaders>;
  currentLeaders: readonly string[];
  leaderUIDs: readonly string[];
  /** Every candidate in order of preference (priority, then strategy), without stickiness. */
  preference: readonly string[];
}

function candidateOf(pod: Pod, x: CandidateContext): CandidateExplanation {
  const { now, minReadyMs, passive, nodes, decision, currentLeaders, leaderUIDs, preference } = x;
  const uid = pod.metadata.uid ?? "";
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  const why = ineligibleReason(pod);
  const at = minReadyMs > 0 && !why ? qualifiesAt(pod, now, minReadyMs) : undefined;
  const qualified = at === undefined || at <= now;
  const pr = parsePriority(pod.metadata.labels, pod.metadata.annotations);
  const state = x.health.states.get(uid);
  // A passive checker (ready) has no probe state: Kubernetes readiness is the whole verdict.
  const health: CandidateExplanation["health"] = passive
    ? { state: "not checked" }
    : state === undefined
    ? { state: "unknown" }
    : {
      state: state.healthy === true ? "healthy" : state.healthy === false ? "unhealthy" : "unknown",
      ...(state.lastReason ? { reason: state.lastReason } : {}),
      ...(state.lastCheckedAt ? { lastCheckedAt: iso(state.lastCheckedAt) } : {}),
    };
  const rankIndex = preference.indexOf(uid);
  const strategyIndex = decision.ranked.indexOf(uid);
  const nodeName = pod.spec?.nodeName;
  const nv = nodeName ? nodes.get(nodeName) : undefined;
  const leadsNow = currentLeaders.includes(uid);
  const wouldLead = leaderUIDs.includes(uid);
  const eligible = !why && qualified;
  const inPool = decision.candidates.some((c) => c.pod.uid === uid);

  let verdict: string;
  if (why) verdict = `not eligible: ${why}`;
  else if (!qualified) verdict = `not eligible yet: min-ready qualifies at ${iso(at)}`;
  else if (wouldLead) {
    const i = leaderUIDs.indexOf(uid);
    const role = i === 0 ? "leader" : `pool member ${i + 1}`;
    verdict = leadsNow ? `${role}, kept` : `${role}, newly chosen`;
  } else if (!inPool) {
    verdict = state?.healthy === false
      ? `excluded: unhealthy${state.lastReason ? ` (${state.lastReason})` : ""}`
      : "excluded: health not proven yet (the controller probes it on demand when a successor is needed)";
  } else if (rankIndex < 0) {
    const nodeWhy = nv && nv.ready !== true
      ? ` (node ${nv.name} is ${nv.ready === false ? "NotReady" : "Unknown"})`
      : "";
    verdict = `not ranked by strategy ${x.strategy}${nodeWhy}`;
  } else verdict = `standby: ranked ${rankIndex + 1}`;

  return {
    pod: pod.metadata.name ?? "",
    uid,
    phase: pod.status?.phase ?? "Unknown",
    ready,
    ...(ready ? { readySince: iso(readySince(pod)) } : {}),
    ...(pod.status?.podIP ? { ip: pod.status.podIP } : {}),
    terminating: !!pod.metadata.deletionTimestamp,
    ...(nodeName
      ? {
        node: nv
          ? {
            name: nodeName,
            ready: nv.ready,
            unschedulable: nv.unschedulable,
            ...(nv.zone ? { zone: nv.zone } : {}),
          }
          : { name: nodeName, ready: "not visible" as const },
      }
      : {}),
    ...(at !== undefined ? { minReady: { qualifiesAt: iso(at)!, qualified } } : {}),
    priority: "value" in pr ? { value: pr.value } : { value: 0, error: pr.error },
    health,
    eligible,
    ...(rankIndex >= 0 ? { rank: rankIndex + 1 } : {}),
    ...(strategyIndex >= 0 ? { strategyRank: strategyIndex + 1 } : {}),
    leadsNow,
    wouldLead,
    verdict,
  };
}
