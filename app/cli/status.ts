/**
 * `zen-lead status`: every opted-in Service with its leader, how long it has led, its last failover and that
 * failover's latency, and what is wrong (the problems explain finds). Pure over a snapshot, plus the Events read.
 */
import { ANN, isOptedIn } from "../../core/leader/annotations.ts";
import type { KubeObject } from "../../core/kube/types.ts";
import { explainService } from "../../core/explain/explain.ts";
import { type ClusterSnapshot, explainInputFor } from "../../core/explain/read.ts";
import { age, table } from "../../core/explain/render_text.ts";

export const STATUS_API_VERSION = "zen-lead.io/status/v1";

/** A LeaderChanged Event, the fallback for the last failover when the controller cannot be asked. */
export interface ChangeEvent {
  namespace: string;
  service: string;
  at: string;
  message: string;
}

export interface ServiceRow {
  namespace: string;
  name: string;
  leader?: string;
  /** RFC 3339 of zen-lead.io/leader-last-switch-time. */
  leaderSince?: string;
  lastFailover?: {
    at: string;
    reason: string;
    from?: string;
    to?: string;
    latencyMs?: number;
    source: string;
  };
  problems: string[];
}

export interface StatusReport {
  apiVersion: typeof STATUS_API_VERSION;
  generatedAt: string;
  controller: string;
  services: ServiceRow[];
}

/** Explain's view-only notes are not problems of the Service. */
const NOT_PROBLEMS = new Set(["NodesNotVisible", "HealthUnknown", "PluginNotLoaded", "NoSeed"]);

export function statusReport(snap: ClusterSnapshot, events: readonly ChangeEvent[]): StatusReport {
  const rows: ServiceRow[] = [];
  const services = snap.services.filter((s) => isOptedIn(s.metadata.annotations))
    .sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`)
    );
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? "";
    const name = svc.metadata.name ?? "";
    const e = explainService(explainInputFor(snap, svc));
    const leaderSvc = snap.managedServices.find((s) =>
      s.metadata.namespace === ns && s.metadata.name === e.leaderService
    );
    const problems = e.warnings.filter((w) => !NOT_PROBLEMS.has(w.kind)).map((w) =>
      `${w.kind}: ${w.message}`
    );
    if (!leaderSvc) problems.push(`no leader Service ${e.leaderService} yet`);
    if (e.currentLeaders.length === 0) problems.push("no pod routes (endpoints: [])");
    else if (!e.decision.keepsCurrent) {
      problems.push(`the leader would move to ${e.decision.leaders[0] ?? "none"} (reconcile pending)`);
    }
    const changes = snap.controller.status?.services.find((s) => s.namespace === ns && s.name === name)
      ?.changes;
    const lastChange = changes?.filter((c) => c.failover).at(-1);
    const lastEvent = events.filter((ev) =>
      ev.namespace === ns && ev.service === name &&
      /reason: (terminating|notReady|noIP|unhealthy|noneReady)/.test(ev.message)
    )
      .sort((a, b) => a.at.localeCompare(b.at)).at(-1);
    let lastFailover: ServiceRow["lastFailover"];
    if (lastChange) {
      const { at, reason, from, to, latencyMs } = lastChange;
      lastFailover = { at, reason, from, to, latencyMs, source: "controller" };
    } else if (lastEvent) {
      lastFailover = {
        at: lastEvent.at,
        reason: /reason: (\w+)/.exec(lastEvent.message)?.[1] ?? "unknown",
        source: "LeaderChanged Event (latency known only to the controller)",
      };
    }
    rows.push({
      namespace: ns,
      name,
      ...(e.currentLeaders[0] ? { leader: e.currentLeaders.join(",") } : {}),
      ...(leaderSvc?.metadata.annotations?.[ANN.leaderLastSwitchTime]
        ? { leaderSince: leaderSvc.metadata.annotations[ANN.leaderLastSwitchTime] }
        : {}),
      ...(lastFailover ? { lastFailover } : {}),
      problems,
    });
  }
  return {
    apiVersion: STATUS_API_VERSION,
    generatedAt: new Date(snap.now).toISOString(),
    controller: snap.controller.message,
    services: rows,
  };
}

export function renderStatusText(r: StatusReport, now: number): string {
  const lines = [`Controller: ${r.controller}`, ""];
  if (r.services.length === 0) return lines.join("\n") + "No opted-in Services.\n";
  lines.push(...table([
    ["NAMESPACE", "SERVICE", "LEADER", "LEADING FOR", "LAST FAILOVER", "LATENCY", "PROBLEMS"],
    ...r.services.map((s) => [
      s.namespace,
      s.name,
      s.leader ?? "none",
      s.leaderSince ? age(now - Date.parse(s.leaderSince)) : "-",
      s.lastFailover
        ? `${s.lastFailover.reason} ${age(now - Date.parse(s.lastFailover.at))} ago${
          s.lastFailover.from ? ` (${s.lastFailover.from} -> ${s.lastFailover.to ?? "none"})` : ""
        }`
        : "none",
      s.lastFailover?.latencyMs !== undefined ? `${s.lastFailover.latencyMs.toFixed(1)} ms` : "-",
      s.problems.length === 0 ? "none" : s.problems.join("; "),
    ]),
  ], ""));
  return lines.join("\n") + "\n";
}

/** LeaderChanged Events of one namespace or all, as ChangeEvents. */
export function changeEvents(items: readonly KubeObject[]): ChangeEvent[] {
  return items.map((e) => {
    const ev = e as KubeObject & {
      involvedObject?: { name?: string; namespace?: string };
      message?: string;
      lastTimestamp?: string;
      eventTime?: string;
    };
    return {
      namespace: ev.involvedObject?.namespace ?? ev.metadata.namespace ?? "",
      service: ev.involvedObject?.name ?? "",
      at: ev.lastTimestamp ?? ev.eventTime ?? ev.metadata.creationTimestamp ?? "",
      message: ev.message ?? "",
    };
  });
}
