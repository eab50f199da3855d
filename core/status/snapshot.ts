/** The status document of a running controller: its probe results and recent leader changes per Service. */
import type { LeaderController } from "../controller/controller.ts";
import { isOptedIn } from "../leader/annotations.ts";
import { INDEX } from "../controller/stores.ts";
import type { ControllerStatus, ServiceStatus } from "./model.ts";
import { reportSettings } from "./reported_settings.ts";

const iso = (ms: number | undefined) => ms === undefined ? undefined : new Date(ms).toISOString();

export function serviceStatus(controller: LeaderController, namespace: string, name: string): ServiceStatus {
  const key = `${namespace}/${name}`;
  const podNames = new Map(
    controller.pods.byIndex(INDEX.namespace, namespace).map((
      p,
    ) => [p.metadata.uid ?? "", p.metadata.name ?? ""]),
  );
  const probes = [...controller.probes.serviceStates(key)].map(([uid, s]) => ({
    podUID: uid,
    pod: podNames.get(uid) ?? uid,
    healthy: s.healthy ?? null,
    ...(s.lastReason ? { reason: s.lastReason } : {}),
    ...(s.lastCheckedAt ? { lastCheckedAt: iso(s.lastCheckedAt) } : {}),
  }));
  const uid = controller.services.get(key)?.metadata.uid;
  const settings = uid ? controller.reconciler.settingsOf(uid) : undefined;
  return {
    namespace,
    name,
    ...(settings ? { settings: reportSettings(settings) } : {}),
    probes,
    changes: [...controller.history.of(key)],
  };
}

export function controllerStatus(controller: LeaderController, identity: string): ControllerStatus {
  const services = controller.services.list()
    .filter((s) => isOptedIn(s.metadata.annotations))
    .map((s) => serviceStatus(controller, s.metadata.namespace ?? "", s.metadata.name ?? ""))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return { identity, active: controller.isActive, generatedAt: new Date().toISOString(), services };
}
