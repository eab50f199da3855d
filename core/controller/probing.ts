/**
 * The reconcile's hold on the probe scheduler: it keeps the probe targets equal to a Service's eligible pods, and
 * probes never-probed candidates on demand when a successor is needed now.
 */
import type { Pod } from "../kube/types.ts";
import type { ProbeScheduler } from "../probing/scheduler.ts";
import { classifyPods, toPodView } from "../leader/pods.ts";
import type { ServiceSettings } from "../leader/service_settings.ts";
import { inSpan } from "../tracing/spans.ts";
import { safeTimeout } from "../timers.ts";

/** What of the probe scheduler the reconcile uses. */
export type ProbePort = Pick<ProbeScheduler, "upsert" | "remove" | "removeService" | "probeNow" | "state">;
type ProbeTarget = Parameters<ProbePort["upsert"]>[0];

function target(key: string, pod: Pod, role: ProbeTarget["role"], settings: ServiceSettings): ProbeTarget {
  const hc = settings.healthCheck;
  return {
    podUID: pod.metadata.uid ?? "",
    serviceKey: key,
    role,
    pod: toPodView(pod),
    checker: hc.checker,
    spec: hc.spec,
    schedule: hc.schedule,
    type: hc.type,
  };
}

/**
 * Probes never-probed candidates at once, bounded by `waitMs` (default: the probe timeout and a little); returns
 * those that passed.
 */
export async function probeOnDemand(
  probes: ProbePort,
  key: string,
  pods: readonly Pod[],
  uids: readonly string[],
  settings: ServiceSettings,
  waitMs?: number,
): Promise<Set<string>> {
  const hc = settings.healthCheck;
  const byUID = new Map(pods.map((p) => [p.metadata.uid ?? "", p]));
  for (const u of uids) {
    const pod = byUID.get(u);
    if (pod) probes.upsert(target(key, pod, "candidate", settings));
  }
  const wait = waitMs ?? hc.schedule.timeoutMs + 250;
  const passed = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(uids.map((u) =>
      inSpan("probe", {
        "k8s.pod.name": byUID.get(u)?.metadata.name,
        "k8s.pod.uid": u,
        "zen_lead.health_check": hc.type,
      }, async (span) => {
        try {
          const healthy = (await probes.probeNow(key, u)).healthy;
          span.setAttribute("zen_lead.probe.healthy", healthy);
          if (healthy) passed.add(u);
        } catch (e) {
          // An error is a failed probe.
          span.setAttribute("zen_lead.probe.healthy", false);
          span.setAttribute("zen_lead.probe.error", String((e as Error)?.message ?? e));
        }
      })
    )),
    new Promise<void>((r) => timer = safeTimeout(r, wait)),
  ]);
  clearTimeout(timer);
  return passed;
}

/** Keeps the probe scheduler's targets equal to this Service's eligible pods, leaders with the leader cadence. */
export function syncProbeTargets(
  probes: ProbePort,
  key: string,
  pods: readonly Pod[],
  leaders: readonly Pod[],
  settings: ServiceSettings,
  now: number,
): void {
  if (settings.healthCheck.checker.passive) {
    probes.removeService(key);
    return;
  }
  const leaderUIDs = new Set(leaders.map((p) => p.metadata.uid));
  const keep = new Set<string>();
  for (const pod of classifyPods(pods, now, 0).eligible) {
    keep.add(pod.metadata.uid ?? "");
    probes.upsert(
      target(key, pod, leaderUIDs.has(pod.metadata.uid ?? "") ? "leader" : "candidate", settings),
    );
  }
  for (const pod of pods) {
    const u = pod.metadata.uid ?? "";
    if (!keep.has(u)) probes.remove(u, key);
  }
}
