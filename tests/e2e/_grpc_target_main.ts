/**
 * A grpc.health.v1 server in its own process, for end-to-end tests. Deno 2.9.6 can abort (an nghttp2 assertion,
 * or a segfault) when a gRPC server and client share one process and a stream closes, so the target never
 * lives in the test's (and the controller's) process, as a pod's server never would.
 *
 * Protocol: prints `{"port":N}` once listening, then `{"hit":<epoch ms>}` per Check; reads
 * `{"service":"...","status":N}` lines on stdin and answers `{"ack":true}` once the new status is in force.
 * Usage: deno run -A tests/e2e/_grpc_target_main.ts <ip> <initial statuses as JSON>
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import {
  decodeHealthCheckRequest,
  encodeHealthCheckResponse,
  HEALTH_CHECK_METHOD,
} from "../../health/grpc_codec.ts";

const [ip, initial] = Deno.args;
// A status per service name; "hang" never answers (a server that stops responding).
const statuses: Record<string, number | "hang"> = JSON.parse(initial ?? "{}");
const out = new TextEncoder();
const say = (o: unknown) => Deno.stdout.writeSync(out.encode(JSON.stringify(o) + "\n"));

const server = new grpc.Server();
server.addService({
  Check: {
    path: HEALTH_CHECK_METHOD,
    requestStream: false,
    responseStream: false,
    requestDeserialize: (b: Buffer) => new Uint8Array(b),
    requestSerialize: (b: Uint8Array) => Buffer.from(b),
    responseDeserialize: (b: Buffer) => new Uint8Array(b),
    responseSerialize: (b: Uint8Array) => Buffer.from(b),
  },
}, {
  Check: (call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, done: grpc.sendUnaryData<Uint8Array>) => {
    say({ hit: Date.now() });
    const status = statuses[decodeHealthCheckRequest(call.request).service];
    if (status === "hang") return;
    if (status === undefined) return done({ code: grpc.status.NOT_FOUND, details: "unknown service" });
    done(null, Buffer.from(encodeHealthCheckResponse(status)));
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(
    `${ip.includes(":") ? `[${ip}]` : ip}:0`,
    grpc.ServerCredentials.createInsecure(),
    (e, p) => e ? reject(e) : resolve(p),
  )
);
say({ port });

let buf = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buf += chunk;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const cmd = JSON.parse(buf.slice(0, i)) as { service: string; status: number | "hang" };
    buf = buf.slice(i + 1);
    statuses[cmd.service] = cmd.status;
    say({ ack: true });
  }
}
// stdin closed: the test is done with this target.
server.forceShutdown();
Deno.exit(0);
