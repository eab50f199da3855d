/**
 * `grpc`: the standard gRPC health check (`grpc.health.v1.Health/Check`) on the pod IP, plaintext. SERVING is
 * healthy; NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN and call errors are unhealthy with the reason. The call's
 * deadline is the kernel's check deadline. One channel per `ip:port` is kept between checks (HTTP/2 setup costs
 * more than the check) and closed when the kernel releases the target or the plugin closes.
 *
 * Spec: `{ port: number | "<container port name>", service?: "my.Service" }`; short forms `grpc:9090`,
 * `grpc:9090/my.Service`.
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import * as v from "valibot";
import { defineHealthChecker } from "../mod.ts";
import type { HealthChecker, HealthResult, PodView } from "../core/plugin/types.ts";
import { hostPort, probePortSchema, resolveProbePort, shortPort } from "./_port.ts";
import { abortReason } from "./_abort.ts";
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  HEALTH_CHECK_METHOD,
  SERVING,
  SERVING_STATUS,
} from "./grpc_codec.ts";

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

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // A pod that comes back must be seen within about a probe interval, not after grpc's 120 s maximum backoff.
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
  // A probe reports what it saw; a transparent retry would hide a failure.
  "grpc.enable_retries": 0,
  // Subchannels private to the channel, so closing it really closes the connection.
  "grpc.use_local_subchannel_pool": 1,
};

const serialize = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const deserialize = (buf: Buffer) => new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);

function callErrorReason(err: grpc.ServiceError): string {
  const name = grpc.status[err.code] ?? `code ${err.code}`;
  const text = `gRPC ${name}: ${err.details}`;
  return err.code === grpc.status.DEADLINE_EXCEEDED ? `timeout (${text})` : text;
}

/** A channel unused this long is closed at the next sweep: a backstop for targets never released. */
export const IDLE_CHANNEL_MS = 120_000;
const SWEEP_EVERY_MS = 30_000;

export class GrpcHealthChecker implements HealthChecker<GrpcCheckSpec> {
  readonly specSchema = grpcSpecSchema;
  readonly parseShort = parseShort;
  private readonly clients = new Map<string, { client: grpc.Client; lastUsed: number }>();
  private lastSweep = 0;

  /** `now` is injectable so tests can age channels without waiting. */
  constructor(private readonly now: () => number = Date.now) {}

  /** Channels currently kept open, for tests and debugging. */
  get openChannels(): number {
    return this.clients.size;
  }

  check(pod: PodView, spec: GrpcCheckSpec, signal: AbortSignal, deadline?: number): Promise<HealthResult> {
    const port = resolveProbePort(pod, spec.port);
    if (!port.ok) return Promise.resolve({ healthy: false, reason: port.reason });
    if (signal.aborted) return Promise.resolve({ healthy: false, reason: abortReason(signal) });
    const address = hostPort(pod.ip, port.port);
    const client = this.channel(address);
    const callOptions: grpc.CallOptions = deadline === undefined ? {} : { deadline };
    return new Promise((resolve) => {
      const call = client.makeUnaryRequest(
        HEALTH_CHECK_METHOD,
        serialize,
        deserialize,
        encodeHealthCheckRequest(spec.service),
        new grpc.Metadata(),
        callOptions,
        (err, response) => {
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) return resolve({ healthy: false, reason: abortReason(signal) });
          if (err) return resolve({ healthy: false, reason: `${callErrorReason(err)} (${address})` });
          try {
            const { status } = decodeHealthCheckResponse(response ?? new Uint8Array(0));
            const name = SERVING_STATUS[status] ?? `status ${status}`;
            const reason = spec.service === "" ? name : `${name} (service "${spec.service}")`;
            resolve({ healthy: status === SERVING, reason });
          } catch (e) {
            resolve({ healthy: false, reason: `malformed HealthCheckResponse: ${(e as Error).message}` });
          }
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  release(pod: PodView, spec: GrpcCheckSpec): void {
    const port = resolveProbePort(pod, spec.port);
    if (!port.ok) return;
    const address = hostPort(pod.ip, port.port);
    this.clients.get(address)?.client.close();
    this.clients.delete(address);
  }

  /** Closes every channel; the checker stays usable and reopens channels on demand. */
  closeAll(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  /** The cached channel for `address`, sweeping idle ones now and then (no timer: checks drive it). */
  private channel(address: string): grpc.Client {
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      // A wrapper or caller that never calls release() must not leave channels to gone pods open forever.
      for (const [addr, c] of this.clients) {
        if (now - c.lastUsed >= IDLE_CHANNEL_MS) {
          c.client.close();
          this.clients.delete(addr);
        }
      }
    }
    let cached = this.clients.get(address);
    if (!cached) {
      cached = {
        client: new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS),
        lastUsed: now,
      };
      this.clients.set(address, cached);
    }
    cached.lastUsed = now;
    return cached.client;
  }
}

export const grpcHealthChecker = defineHealthChecker({
  name: "grpc",
  version: "1.0.0",
  description: "grpc.health.v1 Health/Check on the pod IP; SERVING is healthy.",
  setup: (ctx) => {
    const checker = new GrpcHealthChecker();
    ctx.signal.addEventListener("abort", () => checker.closeAll(), { once: true });
    return checker;
  },
  close: (instance) => {
    if (instance instanceof GrpcHealthChecker) instance.closeAll();
  },
});
