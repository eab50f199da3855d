/**
 * The leader decision for one Service: which pods route, and why leadership moved. Pure: plugins are passed in
 * as plain functions, time as a number.
 */
import type { Pod } from "../kube/types.ts";
import type { Candidate, LeaderStrategy, NodeView, ServiceView } from "../plugin/types.ts";
import { classifyPods, ineligibleReason, toPodView } from "./pods.ts";
import { parsePriority } from "./priority.ts";
import { selectLeaders } from "./select.ts";
import type { ServiceSettings } from "./service_settings.ts";

export type FailoverReason = "terminating" | "notReady" | "noIP" | "unhealthy" | "noneReady";
/** Why leadership moved without a failure. */
export type ChangeReason = FailoverReason | "initial" | "strategy" | "priority" | "poolResize";

export interface DecideInput {
  service: ServiceView;
  /** Pods that match the Service's selector. */
  pods: readonly Pod[];
  nodes: ReadonlyMap<string, NodeView>;
  /** Pod UIDs routed now (from the EndpointSlice's targetRefs), primary first. */
  currentLeaders: readonly string[];
  settings: ServiceSettings;
  strategy: LeaderStrategy;
  /** The thresholded health of a pod: true, false, or undefined (not known yet). */
  health(uid: string): boolean | undefined;
  seed: string;
  now: number;
}

export interface Decision {
  leaders: Pod[];
  /** The primary leader changed (or appeared, or vanished). */
  primaryChanged: boolean;
  /** Set when the previous primary was lost to a failure: counted as a failover. */
  failover?: FailoverReason;
  reason?: ChangeReason;
  /** Epoch ms when a pod waiting out min-ready-duration qualifies. */
  requeueAt?: number;
  /** Eligible pods whose health is unknown and would be chosen if they pass: probe them on demand. */
  unprobed: string[];
  /** Every eligible pod failed its health check, and fail-mode decided what routes. */
  allUnhealthy: boolean;
  noPods: boolean;
  noneEligible: boolean;
  /** Ready pods still waiting out min-ready-duration (they qualify at `requeueAt` at the earliest). */
  warmingCount: number;
  /** Pods that may lead now, before health checks. */
  eligibleCount: number;
  priorityErrors: { pod: string; message: string }[];
  /** What the strategy was given (eligible pods that passed health, with their priority); for `explain`. */
  candidates: readonly Candidate[];
  /** The strategy's order of `candidates`, best first, before sticky and priority rules; for `explain`. */
  ranked: readonly string[];
}

/** Whether a pod may be chosen given its health: a sitting leader until proven unhealthy, others once proven. */
function acceptable(isLeader: boolean, health: boolean | undefined, passive: boolean): boolean {
  if (passive) return true;
  return isLeader ? health !== false : health === true;
}

export function decideLeaders(input: DecideInput): Decision {
  const { settings, now } = input;
  const passive = input.settings.healthCheck.checker.passive === true;
  const { eligible, warming, nextQualifiesAt } = classifyPods(input.pods, now, settings.minReadyMs);
  const current = new Set(input.currentLeaders);
  const priorityErrors: Decision["priorityErrors"] = [];

  let pool = eligible.filter((p) =>
    acceptable(
      current.has(p.metadata.uid ?? ""),
      input.health(p.metadata.uid ?? ""),
      passive,
    )
  );
  const unprobed = passive
    ? []
    : eligible.filter((p) =>
      !current.has(p.metadata.uid ?? "") && input.health(p.metadata.uid ?? "") === undefined
    )
      .map((p) => p.metadata.uid ?? "");
  let allUnhealthy = false;
  if (!passive && pool.length === 0 && eligible.length > 0 && unprobed.length === 0) {
    allUnhealthy = true;
    // Fail-open routes to the Kubernetes-Ready pods; fail-closed routes nowhere.
    pool = settings.failMode === "open" ? eligible : [];
  }

  const candidates: Candidate[] = pool.map((pod) => {
    const pr = parsePriority(pod.metadata.labels, pod.metadata.annotations);
    if ("error" in pr) priorityErrors.push({ pod: pod.metadata.name ?? "", message: pr.error });
    const view = toPodView(pod);
    return {
      pod: view,
      node: view.nodeName ? input.nodes.get(view.nodeName) : undefined,
      priority: "value" in pr ? pr.value : 0,
    };
  });

  let ranked: readonly string[] = [];
  if (candidates.length > 0) {
    ranked = input.strategy.rank({
      service: input.service,
      candidates,
      currentLeaders: input.currentLeaders,
      count: settings.count,
      options: settings.strategyOptions,
      seed: input.seed,
      now,
    });
  }
  // A bad priority leaves routing as it was: the sitting leaders stay whatever the other settings say.
  const sticky = settings.sticky || priorityErrors.length > 0;
  const chosen = selectLeaders({
    ranked,
    candidates,
    currentLeaders: input.currentLeaders,
    count: settings.count,
    sticky,
  });
  const byUID = new Map(pool.map((p) => [p.metadata.uid ?? "", p]));
  const leaders = chosen.leaders.map((uid) => byUID.get(uid)).filter((p): p is Pod => p !== undefined);

  const oldPrimary = input.currentLeaders[0];
  const newPrimary = leaders[0]?.metadata.uid;
  const primaryChanged = oldPrimary !== newPrimary;
  let failover: FailoverReason | undefined;
  let reason: ChangeReason | undefined;
  if (primaryChanged) {
    if (oldPrimary === undefined) reason = "initial";
    else {
      failover = lossReason(oldPrimary, input, passive);
      if (failover) reason = failover;
      else if (!newPrimary) reason = failover = "noneReady";
      else {
        const oldCand = candidates.find((c) => c.pod.uid === oldPrimary);
        const newCand = candidates.find((c) => c.pod.uid === newPrimary);
        reason = oldCand && newCand && newCand.priority > oldCand.priority ? "priority" : "strategy";
      }
    }
  } else if (chosen.leaders.join() !== input.currentLeaders.join()) reason = "poolResize";

  return {
    leaders,
    primaryChanged,
    failover,
    reason,
    requeueAt: nextQualifiesAt,
    unprobed,
    allUnhealthy,
    noPods: input.pods.length === 0,
    noneEligible: eligible.length === 0,
    eligibleCount: eligible.length,
    warmingCount: warming.length,
    priorityErrors,
    candidates,
    ranked,
  };
}

/** Why the previous primary can no longer lead, or undefined when it still could (a non-failure move). */
function lossReason(uid: string, input: DecideInput, passive: boolean): FailoverReason | undefined {
  const pod = input.pods.find((p) => p.metadata.uid === uid);
  // Gone from the cache or from the selector: deleted or relabelled away; either way it is leaving.
  if (!pod) return "terminating";
  const why = ineligibleReason(pod);
  if (why) return why;
  if (!passive && input.health(uid) === false) return "unhealthy";
  // Its node is NotReady or unreachable: the pod's own Ready is stale, so losing it is a failure, not a preference.
  const node = pod.spec?.nodeName ? input.nodes.get(pod.spec.nodeName) : undefined;
  if (node && node.ready !== true) return "notReady";
  return undefined;
}
