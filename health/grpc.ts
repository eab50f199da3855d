/**
 * `grpc`: the standard gRPC health check (`grpc.health.v1.Health/Check`) on the pod IP, plaintext. SERVING is
 * healthy; NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN and call errors are unhealthy with the reason. The call's
 * deadline is the kernel's check deadline. Checks run in a prober process of their own (grpc_prober.ts says why),
 * which keeps one channel per `ip:port` between checks and closes it when the kernel releases the target.
 *
 * Spec: `{ port: number | "<container port name>", service?: "my.Service" }`; short forms `grpc:9090`,
 * `grpc:9090/my.Service`.
 */
import * as v from "valibot";
import { defineHealthChecker, type HealthChecker, type HealthResult, type PodView } from "../mod.ts";
import { hostPort, probePortSchema, resolveProbePort, shortPort } from "./_port.ts";
import { GrpcProber } from "./grpc_prober.ts";

export const grpcSpecSchema = v.strictObject({
  port: probePortSchema,
  /** The service to ask about; "" asks about the server as a whole. */
  service: v.optional(v.string(), ""),
});

export type GrpcCheckSpec = v.InferOutput<typeof grpcSpecSchema>;

/** `9090`, `9090/my.Service` or `grpc/my.Service` to `{ port, service }`. */
function parseShort(text: string): unknown {
  const slash = text.indexOf("/");
  const port = slash < 0 ? text : text.slice(0, slash);
  if (port === "") throw new Error(`expected "<port>[/service]" after "grpc:", e.g. "grpc:9090/my.Service"`);
  return slash < 0 ? { port: shortPort(port) } : { port: shortPort(port), service: text.slice(slash + 1) };
}

/** Where checks run: the prober process in the controller; tests may run the channels in-process. */
export interface GrpcTransport {
  check(
    address: string,
    service: string,
    deadline: number | undefined,
    signal: AbortSignal,
  ): Promise<HealthResult>;
  release(address: string): void;
  close(): void | Promise<void>;
}

export class GrpcHealthChecker implements HealthChecker<GrpcCheckSpec> {
  readonly specSchema = grpcSpecSchema;
  readonly parseShort = parseShort;

  constructor(readonly transport: GrpcTransport = new GrpcProber()) {}

  check(pod: PodView, spec: GrpcCheckSpec, signal: AbortSignal, deadline?: number): Promise<HealthResult> {
    const port = resolveProbePort(pod, spec.port);
    if (!port.ok) return Promise.resolve({ healthy: false, reason: port.reason });
    return this.transport.check(hostPort(pod.ip, port.port), spec.service, deadline, signal);
  }

  release(pod: PodView, spec: GrpcCheckSpec): void {
    const port = resolveProbePort(pod, spec.port);
    if (port.ok) this.transport.release(hostPort(pod.ip, port.port));
  }

  /** Starts the prober process ahead of the first check (only once a Service uses gRPC checks). */
  warm(): void {
    (this.transport as { warm?: () => void }).warm?.();
  }

  /** Ends the prober (its channels with it); a later check starts a new one. */
  closeAll(): Promise<void> {
    return Promise.resolve(this.transport.close());
  }
}

export const grpcHealthChecker = defineHealthChecker({
  name: "grpc",
  version: "1.0.0",
  description: "grpc.health.v1 Health/Check on the pod IP; SERVING is healthy.",
  setup: (ctx) => {
    const restarts = ctx.metrics.counter({
      name: "zen_lead_grpc_prober_restarts_total",
      help:
        "gRPC prober processes that ended unexpectedly and were restarted (checks in flight were retried).",
    });
    // Started lazily (warm() or the first check): a controller without gRPC checks runs no prober process.
    const prober = new GrpcProber(ctx.logger, () => restarts.inc());
    const checker = new GrpcHealthChecker(prober);
    ctx.signal.addEventListener("abort", () => void checker.closeAll(), { once: true });
    return checker;
  },
  close: (instance) => instance.closeAll(),
});
