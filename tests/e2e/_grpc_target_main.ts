/**
 * A grpc.health.v1 server in its own process, for end-to-end tests. Deno 2.9.6 can abort (an nghttp2 assertion,
 * or a segfault) when a gRPC server and client share one process and a stream closes, so the target never
 * lives in the test's (and the controller's) process, as a pod's server never would.
 *
 * Protocol: prints `{"port":N}` once listening, then `{"hit":<epoch ms>}` per Check; reads
 * `{"service":"...","status":N}` lines on stdin and answers `{"ack":true}` once the new status is in force.
 * Usage: deno run -A tests/e2e/_grpc_target_main.ts <ip> <initial statuses as JSON>
 */
import { readLines } from "../../health/grpc_prober_protocol.ts";
import { serveGrpcHealth } from "../harness/grpc_health_server.ts";

const [ip, initial] = Deno.args;
// A status per service name; "hang" never answers (a server that stops responding).
const statuses: Record<string, number | "hang"> = JSON.parse(initial ?? "{}");
const out = new TextEncoder();
const say = (o: unknown) => Deno.stdout.writeSync(out.encode(JSON.stringify(o) + "\n"));

const { server, port } = await serveGrpcHealth(ip, (service) => {
  say({ hit: Date.now() });
  return statuses[service];
});
say({ port });

await readLines(Deno.stdin.readable, (line) => {
  const cmd = JSON.parse(line) as { service: string; status: number | "hang" };
  statuses[cmd.service] = cmd.status;
  say({ ack: true });
});
// stdin closed: the test is done with this target.
server.forceShutdown();
Deno.exit(0);
