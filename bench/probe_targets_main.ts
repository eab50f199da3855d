/**
 * Health targets for the probe benchmark, in a process of their own so the benchmark measures the prober, not
 * the servers: HTTP (Deno.serve, answering 200) or gRPC (grpc.health.v1, SERVING) on `count` loopback addresses
 * 127.0.0.41, .42, ... Prints `{"ports":[...]}` once every server listens; runs until stdin closes.
 *
 *   deno run -A bench/probe_targets_main.ts http|grpc <count>
 */
import { serveGrpcHealth } from "../tests/harness/grpc_health_server.ts";

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
  const SERVING = 1; // grpc.health.v1 ServingStatus SERVING
  for (const ip of addresses) {
    const { port } = await serveGrpcHealth(ip, () => SERVING);
    ports.push(port);
  }
} else {
  console.error(`probe targets: expected "http" or "grpc", received ${JSON.stringify(kind)}`);
  Deno.exit(2);
}

console.log(JSON.stringify({ ports }));
// The parent closes stdin to end the targets.
for await (const _ of Deno.stdin.readable) { /* drain */ }
Deno.exit(0);
