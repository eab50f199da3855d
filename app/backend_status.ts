/**
 * The "status watcher": cloud backends report a Service's status (its load balancer ingress, or a warning); the
 * active replica writes the ingress to the source Service's status and turns a warning into an Event.
 */
import type { Logger } from "../core/log.ts";
import type { KubeClient } from "../core/kube/client.ts";
import { Services } from "../core/kube/paths.ts";
import type { PluginKernel } from "../core/plugin/kernel.ts";
import type { BackendStatus } from "../core/plugin/types.ts";
import type { LeaderController } from "../core/controller/controller.ts";

/** Subscribes every configured backend to the status writer; called again after each configuration change. */
export function backendStatusWriter(o: {
  kernel: PluginKernel;
  controller: LeaderController;
  client: KubeClient;
  /** Whether this replica holds the Lease (true without leader election). */
  holdsLease: () => boolean;
  log: Logger;
}): { attach(): void } {
  const { controller, client, log } = o;
  const listener = (key: string, status: BackendStatus) => {
    const [ns, name] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    if (!controller.isActive) return;
    if (status.warning) {
      // A backend's problem with this Service (e.g. an operation parked): an Event, the status stays as it is.
      const { reason, message } = status.warning;
      controller.events.record(
        { kind: "Service", apiVersion: "v1", namespace: ns, name },
        "Warning",
        reason,
        message,
      );
      return;
    }
    client.mergePatch(
      Services,
      ns,
      name,
      { status: { loadBalancer: { ingress: status.ingress } } },
      {
        subresource: "status",
        beforeAttempt: () => {
          if (!controller.isActive || !o.holdsLease()) {
            throw new Error("not leading; write refused");
          }
        },
      },
    ).catch((e) => log.warn("could not write backend status", { namespace: ns, service: name, error: e }));
  };
  return {
    attach() {
      for (const b of o.kernel.names("backend")) o.kernel.backend(b)?.onStatus(listener);
    },
  };
}
