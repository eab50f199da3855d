/** The zen_lead_leader_election_* metrics of one elector. */
import type { MetricsRegistry } from "../metrics/registry.ts";

export function electionMetrics(m: MetricsRegistry) {
  return {
    status: m.gauge({
      name: "zen_lead_leader_election_status",
      help: "1 while this replica is the active controller.",
      labelNames: ["name"],
    }),
    transitions: m.counter({
      name: "zen_lead_leader_election_transitions_total",
      help: "Times this replica started or stopped leading.",
      labelNames: ["name", "event"],
    }),
    renewFailures: m.counter({
      name: "zen_lead_leader_election_renew_failures_total",
      help: "Lease renewals by the leader that failed (error, timeout or lost race).",
      labelNames: ["name"],
    }),
    errors: m.counter({
      name: "zen_lead_leader_election_errors_total",
      help: "Errors of the election loop, by phase (campaign, renew); every one is retried.",
      labelNames: ["name", "phase"],
    }),
    sinceRenew: m.gauge({
      name: "zen_lead_leader_election_seconds_since_last_renew",
      help: "Seconds since this replica last renewed or took the Lease (absent until it first does).",
      labelNames: ["name"],
    }),
  };
}
