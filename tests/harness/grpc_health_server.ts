/** A grpc.health.v1 server for tests and benchmarks; run it in a process without a gRPC client (see below). */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import {
  decodeHealthCheckRequest,
  encodeHealthCheckResponse,
  HEALTH_CHECK_METHOD,
} from "../../health/grpc_codec.ts";

/** What a Check is answered with: a ServingStatus number, "hang" (no answer at all) or undefined (NOT_FOUND). */
export type CheckAnswer = number | "hang" | undefined;

/**
 * Serves grpc.health.v1 Check on `ip` and a free port, answering each call with `answer(service)`. Deno 2.9.6
 * can abort when a gRPC server and client share one process and a stream closes, so callers run it in a process
 * of its own.
 */
export async function serveGrpcHealth(
  ip: string,
  answer: (service: string) => CheckAnswer,
): Promise<{ server: grpc.Server; port: number }> {
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
      const status = answer(decodeHealthCheckRequest(call.request).service);
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
  return { server, port };
}
