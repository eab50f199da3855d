/**
 * Port resolution, fail-closed: a named targetPort the leader pod does not declare yields no routable endpoint,
 * never a guess.
 */
import type { EndpointPort, Pod, ServicePort } from "../kube/types.ts";

export interface PortFailure {
  port: ServicePort;
  /** True when a named targetPort was not found (NamedPortResolutionFailed), false for other failures. */
  named: boolean;
  message: string;
}

export interface ResolvedPorts {
  /** Endpoint ports named exactly as the Service's ports (kube-proxy matches by name). */
  endpointPorts: EndpointPort[];
  /** The numeric targetPort per Service port index. */
  targets: number[];
  failures: PortFailure[];
}

export function resolvePorts(ports: readonly ServicePort[], pod: Pod): ResolvedPorts {
  const endpointPorts: EndpointPort[] = [];
  const targets: number[] = [];
  const failures: PortFailure[] = [];
  const declared = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  for (const sp of ports) {
    const protocol = sp.protocol ?? "TCP";
    let target: number | undefined;
    if (sp.targetPort === undefined || sp.targetPort === "" || sp.targetPort === 0) target = sp.port;
    else if (typeof sp.targetPort === "number") target = sp.targetPort;
    else if (/^\d+$/.test(sp.targetPort)) target = Number(sp.targetPort);
    else {
      const found = declared.find((p) => p.name === sp.targetPort && (p.protocol ?? "TCP") === protocol);
      if (found) target = found.containerPort;
      else {
        failures.push({
          port: sp,
          named: true,
          message:
            `Service port ${sp.name ? `"${sp.name}" ` : ""}(${sp.port}/${protocol}) targets the named port ` +
            `"${sp.targetPort}", which pod ${pod.metadata.name} does not declare` +
            ` (declared: ${
              declared.map((p) => `${p.name ?? "<unnamed>"}=${p.containerPort}`).join(", ") || "none"
            })`,
        });
      }
    }
    if (target !== undefined && (target < 1 || target > 65535)) {
      failures.push({ port: sp, named: false, message: `targetPort ${target} is outside 1-65535` });
      target = undefined;
    }
    targets.push(target ?? 0);
    if (target !== undefined) {
      const ep: EndpointPort = { name: sp.name ?? "", port: target, protocol };
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      endpointPorts.push(ep);
    }
  }
  return { endpointPorts, targets, failures };
}
