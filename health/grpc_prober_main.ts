/**
 * The gRPC prober process: runs grpc.health.v1 checks for the controller over stdin/stdout (see
 * grpc_prober_protocol.ts). It holds every grpc-js channel, so a crash of Deno's HTTP/2 stack ends this process
 * only; the controller restarts it and retries the checks that were in flight.
 */
import { GrpcChannels } from "./grpc_channels.ts";
import { type ProberReply, type ProberRequest, readLines } from "./grpc_prober_protocol.ts";

export async function runGrpcProber(): Promise<never> {
  const channels = new GrpcChannels();
  const running = new Map<number, AbortController>();
  const encoder = new TextEncoder();
  const reply = (r: ProberReply) => Deno.stdout.writeSync(encoder.encode(JSON.stringify(r) + "\n"));
  await readLines(Deno.stdin.readable, (line) => {
    const req = JSON.parse(line) as ProberRequest;
    switch (req.op) {
      case "check": {
        const abort = new AbortController();
        running.set(req.id, abort);
        channels.check(req.address, req.service, req.deadline, abort.signal).then((r) => {
          running.delete(req.id);
          reply({ id: req.id, healthy: r.healthy, reason: r.reason });
        });
        break;
      }
      case "cancel":
        running.get(req.id)?.abort(new Error("cancelled by the controller"));
        break;
      case "release":
        channels.release(req.address);
        break;
      case "stats":
        reply({ id: req.id, channels: channels.openChannels });
        break;
    }
  });
  // stdin closed: the controller is done with this prober. Exit without closing channels (see above).
  Deno.exit(0);
}

if (import.meta.main) await runGrpcProber();
