/**
 * The explain view of a Service from a running controller's own caches and probe results: the same
 * explainService the CLI runs, fed from the informers instead of fresh API reads.
 */
import type { LeaderController } from "../controller/controller.ts";
import { INDEX } from "../controller/stores.ts";
import type { ServiceDefaults } from "../config/schema.ts";
import type { LeaderStrategy } from "../plugin/types.ts";
import type { SettingsContext } from "../leader/service_settings.ts";
import { isManagedFor } from "../leader/desired_objects.ts";
import { explainService } from "../explain/explain.ts";
import type { Explanation } from "../explain/model.ts";

export interface LiveSources {
  controller: LeaderController;
  settingsContext(): SettingsContext;
  configDefaults(): ServiceDefaults | undefined;
  /** Which configuration is in force, for the page. */
  configuration(): string;
  strategy(name: string): LeaderStrategy;
  identity: string;
}

export function liveExplain(src: LiveSources, key: string, now = Date.now()): Explanation | undefined {
  const c = src.controller;
  const service = c.services.get(key);
  if (!service) return undefined;
  const ns = service.metadata.namespace ?? "";
  const name = service.metadata.name ?? "";
  return explainService({
    service,
    pods: c.pods.byIndex(INDEX.namespace, ns),
    nodes: c.nodes?.list(),
    managedServices: c.services.byIndex(INDEX.source, key).filter((s) => isManagedFor(s, name)),
    managedSlices: c.slices.byIndex(INDEX.source, key).filter((s) => isManagedFor(s, name)),
    ctx: src.settingsContext(),
    configDefaults: src.configDefaults(),
    configuration: src.configuration(),
    strategy: (n) => src.strategy(n),
    health: {
      reachable: true,
      message: c.isActive
        ? `live probe results of the active replica ${src.identity}`
        : `replica ${src.identity} is a standby and runs no probes`,
      states: c.probes.serviceStates(key),
    },
    lastGood: service.metadata.uid ? c.reconciler.settingsOf(service.metadata.uid) : undefined,
    now,
  });
}
