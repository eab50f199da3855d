/**
 * The gRPC channel pool's bookkeeping with a fake client (no network, no HTTP/2): idle channels are swept,
 * released ones close, and none closes while a call is in flight (Deno's HTTP/2 aborts the process then).
 */
import assert from "node:assert/strict";
import { GrpcChannels, type GrpcClientLike, IDLE_CHANNEL_MS } from "../../health/grpc_channels.ts";
import { encodeHealthCheckResponse, SERVING } from "../../health/grpc_codec.ts";

class FakeClient {
  closed = false;
  pending: (() => void)[] = [];
  makeUnaryRequest(...args: unknown[]) {
    const callback = args[args.length - 1] as (err: unknown, res?: Uint8Array) => void;
    this.pending.push(() => callback(null, encodeHealthCheckResponse(SERVING)));
    return { cancel: () => {} };
  }
  close() {
    this.closed = true;
  }
  answerAll() {
    for (const a of this.pending.splice(0)) a();
  }
}

function pool(now: () => number) {
  const clients = new Map<string, FakeClient>();
  const channels = new GrpcChannels(now, (address) => {
    const c = new FakeClient();
    clients.set(address, c);
    return c as unknown as GrpcClientLike;
  });
  return { channels, clients };
}

const settle = () => new Promise((r) => setTimeout(r, 150));
const forever = new AbortController().signal;

Deno.test("grpc channels: one per address; idle past IDLE_CHANNEL_MS closed by a later check", async () => {
  let now = 1_000_000;
  const { channels, clients } = pool(() => now);
  const check = (address: string) => {
    const p = channels.check(address, "", undefined, forever);
    clients.get(address)!.answerAll();
    return p;
  };
  assert.deepEqual(await check("10.0.0.1:9090"), { healthy: true, reason: "SERVING" });
  await check("10.0.0.2:9090");
  await check("10.0.0.1:9090");
  assert.equal(channels.openChannels, 2, "the first address reused its channel");
  now += IDLE_CHANNEL_MS / 2;
  await check("10.0.0.1:9090");
  assert.equal(channels.openChannels, 2, "nothing idle long enough yet");
  now += IDLE_CHANNEL_MS / 2;
  await check("10.0.0.1:9090");
  assert.equal(channels.openChannels, 1, "10.0.0.2, unused for IDLE_CHANNEL_MS, was swept");
  await settle();
  assert.equal(clients.get("10.0.0.2:9090")!.closed, true);
  assert.equal(clients.get("10.0.0.1:9090")!.closed, false);
});

Deno.test("grpc channels: a released channel closes only after its calls in flight are answered", async () => {
  const { channels, clients } = pool(Date.now);
  const inFlight = channels.check("10.0.0.3:9090", "", undefined, forever);
  channels.release("10.0.0.3:9090");
  assert.equal(channels.openChannels, 0, "gone from the pool at once");
  await settle();
  const client = clients.get("10.0.0.3:9090")!;
  assert.equal(client.closed, false, "not closed under a call in flight");
  client.answerAll();
  await inFlight;
  await settle();
  assert.equal(client.closed, true, "closed once the call was answered");
});
