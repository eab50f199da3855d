/**
 * Health targets for the probe benchmark, in a process of their own so the benchmark measures the prober, not
 * the servers: HTTP (Deno.serve, answering 200) or gRPC (grpc.health.v1, SERVING) on `count` loopback addresses
 * 127.0.0.41, .42, ... Prints `{"ports":[...]}` once every server listens; runs until stdin closes.
 *
 *   deno run -A bench/probe_targets_main.ts http|grpc <count>
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { encodeHealthCheckResponse, HEALTH_CHECK_METHOD } from "../health/grpc_codec.ts";

const [kind, countText] = Deno.args;
const count = Number(countText ?? 4);
const addresses = Array.from({ length: count }, (_, i) => `127.0.0.${41 + i}`);
const ports: number[] = [];

if (kind === "http") {
  for (const hostname of addresses) {
    const server = Deno.serve({ hostname, port: 0, onListen() {} }, () => new Response("ok"));
    ports.push(server.addr.port);
  }
} else if (kind === "grpc") {
  const SERVING = encodeHealthCheckResponse(1);
  for (const ip of addresses) {
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
      Check: (_call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, done: grpc.sendUnaryData<Uint8Array>) =>
        done(null, Buffer.from(SERVING)),
    });
    ports.push(
      await new Promise<number>((resolve, reject) =>
        server.bindAsync(
          `${ip}:0`,
          grpc.ServerCredentials.createInsecure(),
          (e, p) => e ? reject(e) : resolve(p),
        )
      ),
    );
  }
} else {
  console.error(`probe targets: expected "http" or "grpc", received ${JSON.stringify(kind)}`);
  Deno.exit(2);
}

console.log(JSON.stringify({ ports }));
// The parent closes stdin to end the targets.
for await (const _ of Deno.stdin.readable) { /* drain */ }
Deno.exit(0);
