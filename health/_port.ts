/** The probe port of a check spec: a number, or a container-port name resolved against the pod's ports. */
import * as v from "valibot";
import type { PodView } from "../mod.ts";

/** A port number, or an IANA service name as Kubernetes allows for container ports (e.g. `http-metrics`). */
export const probePortSchema = v.union([
  v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  v.pipe(
    v.string(),
    v.regex(/^(?=.{1,15}$)[a-z0-9]+(-[a-z0-9]+)*$/, "Expected a container port name (IANA_SVC_NAME)"),
    v.regex(/[a-z]/, "Expected a container port name with at least one letter"),
  ),
]);

export type ProbePort = v.InferOutput<typeof probePortSchema>;

export type PortResolution = { ok: true; port: number } | { ok: false; reason: string };

/** Resolves `port` on `pod`; an undeclared name is a failed check, since probing a guess would mislead. */
export function resolveProbePort(pod: PodView, port: ProbePort): PortResolution {
  if (typeof port === "number") return { ok: true, port };
  const found = pod.ports.find((p) => p.name === port);
  if (found) return { ok: true, port: found.port };
  const declared = pod.ports.flatMap((p) => (p.name ? [p.name] : []));
  return {
    ok: false,
    reason: `port name "${port}" is not declared by pod ${pod.namespace}/${pod.name} ` +
      `(declared: ${declared.length ? declared.join(", ") : "none"})`,
  };
}

/** Parses the port part of a short form: digits are a number, anything else a name for the schema to judge. */
export function shortPort(text: string): ProbePort {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** `ip:port`, bracketing IPv6 addresses. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}
