/**
 * The replica election: with --leader-elect this replica is active only while it holds the Lease; without it,
 * it is active at once. Activation starts the controller's writes and the backends' cloud work.
 */
import type { Logger } from "../core/log.ts";
import type { MetricsRegistry } from "../core/metrics/registry.ts";
import type { KubeClient } from "../core/kube/client.ts";
import type { ControllerSettings } from "../core/config/controller_settings.ts";
import type { LeaderController } from "../core/controller/controller.ts";
import { LeaseElector } from "../core/election/lease.ts";
import type { LeaseTimings } from "../core/election/timings.ts";
import type { ReplicaActivity } from "../core/plugin/replica_activity.ts";

export interface Election {
  /** Absent with --leader-elect=false. */
  elector?: LeaseElector;
  /** Resolves when this replica first becomes active. */
  active: Promise<void>;
}

export function startElection(o: {
  settings: ControllerSettings;
  leaseTimings: LeaseTimings;
  client: KubeClient;
  identity: string;
  controller: LeaderController;
  replica: ReplicaActivity;
  logger: Logger;
  log: Logger;
  metrics: MetricsRegistry;
  signal: AbortSignal;
}): Election {
  const { controller, replica, log } = o;
  let resolveActive!: () => void;
  const active = new Promise<void>((r) => resolveActive = r);
  if (!o.settings.leaderElect) {
    replica.set(true);
    controller.activate();
    resolveActive();
    return { active };
  }
  const elector = new LeaseElector({
    client: o.client,
    namespace: o.settings.configMapNamespace,
    name: o.settings.leaderElectionId,
    identity: o.identity,
    ...o.leaseTimings,
    logger: o.logger,
    metrics: o.metrics,
    onLeaseAcquired: () => {
      replica.set(true);
      controller.activate();
      resolveActive();
    },
    onLeaseLost: () => {
      controller.deactivate();
      replica.set(false);
    },
  });
  elector.run(o.signal)
    .catch((e) => log.error("leader election stopped", { error: e }))
    .finally(() => {
      if (!o.signal.aborted) log.error("leader election loop ended; /healthz now fails");
    });
  return { elector, active };
}
