/**
 * grpc.health.v1 checks over grpc-js with one cached channel per `ip:port`. This runs only inside the gRPC prober
 * process (grpc_prober_main.ts): Deno 2.9.6's HTTP/2 can abort the process when a channel is closed while its
 * connection is going away, and that must never take the controller down with it.
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { type HealthResult, safeTimeout } from "../mod.ts";
import { abortReason } from "./_abort.ts";
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  HEALTH_CHECK_METHOD,
  SERVING,
  SERVING_STATUS,
} from "./grpc_codec.ts";

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
/** After the last call on a released channel answers, its streams finish closing before the channel does. */
const CLOSE_AFTER_DRAIN_MS = 100;

/** What the pool needs of a grpc-js client; tests give it a fake one to age and count channels. */
export type GrpcClientLike = Pick<grpc.Client, "makeUnaryRequest" | "close">;

interface Channel {
  client: GrpcClientLike;
  lastUsed: number;
  /** Calls not yet answered: a channel is never closed under them (that is when nghttp2 aborts soonest). */
  inFlight: number;
  closing: boolean;
}

function closeWhenIdle(c: Channel): void {
  if (c.inFlight > 0) {
    c.closing = true;
    return;
  }
  safeTimeout(() => c.client.close(), CLOSE_AFTER_DRAIN_MS);
}

export class GrpcChannels {
  private readonly channels = new Map<string, Channel>();
  private lastSweep = 0;

  /** `now` and `makeClient` are injectable so tests can age and count channels without a network. */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly makeClient: (address: string) => GrpcClientLike = (address) =>
      new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS),
  ) {}

  /** Channels currently kept open. */
  get openChannels(): number {
    return this.channels.size;
  }

  /** One Health/Check of `service` at `address` (`ip:port`); `deadline` is epoch ms. */
  check(
    address: string,
    service: string,
    deadline: number | undefined,
    signal: AbortSignal,
  ): Promise<HealthResult> {
    if (signal.aborted) return Promise.resolve({ healthy: false, reason: abortReason(signal) });
    const channel = this.channel(address);
    channel.inFlight++;
    const answered = () => {
      channel.inFlight--;
      if (channel.closing && channel.inFlight === 0) closeWhenIdle(channel);
    };
    const callOptions: grpc.CallOptions = deadline === undefined ? {} : { deadline };
    return new Promise<HealthResult>((resolve) => {
      const call = channel.client.makeUnaryRequest(
        HEALTH_CHECK_METHOD,
        serialize,
        deserialize,
        encodeHealthCheckRequest(service),
        new grpc.Metadata(),
        callOptions,
        (err, response) => {
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) return resolve({ healthy: false, reason: abortReason(signal) });
          if (err) return resolve({ healthy: false, reason: `${callErrorReason(err)} (${address})` });
          try {
            const { status } = decodeHealthCheckResponse(response ?? new Uint8Array(0));
            const name = SERVING_STATUS[status] ?? `status ${status}`;
            const reason = service === "" ? name : `${name} (service "${service}")`;
            resolve({ healthy: status === SERVING, reason });
          } catch (e) {
            resolve({ healthy: false, reason: `malformed HealthCheckResponse: ${(e as Error).message}` });
          }
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener("abort", onAbort, { once: true });
    }).finally(answered);
  }

  /** The target is no longer probed: its channel closes once no call is in flight on it. */
  release(address: string): void {
    const c = this.channels.get(address);
    this.channels.delete(address);
    if (c) closeWhenIdle(c);
  }

  closeAll(): void {
    for (const c of this.channels.values()) closeWhenIdle(c);
    this.channels.clear();
  }

  /** GrpcTransport's close: every channel. */
  close(): void {
    this.closeAll();
  }

  /** The cached channel for `address`, sweeping idle ones now and then (no timer: checks drive it). */
  private channel(address: string): Channel {
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      // A caller that never releases must not leave channels to gone pods open forever.
      for (const [addr, c] of this.channels) {
        if (now - c.lastUsed >= IDLE_CHANNEL_MS) {
          closeWhenIdle(c);
          this.channels.delete(addr);
        }
      }
    }
    let c = this.channels.get(address);
    if (!c) {
      c = {
        client: this.makeClient(address),
        lastUsed: now,
        inFlight: 0,
        closing: false,
      };
      this.channels.set(address, c);
    }
    c.lastUsed = now;
    return c;
  }
}
