/**
 * The built-in health checker plugins: `ready` (the default, passive), `http` and `grpc`. They register like
 * any third-party checker; the kernel's probe scheduler decides when they run.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { builtinHealthCheckers } from "./mod.ts";
 * deepStrictEqual(builtinHealthCheckers.map((p) => p.name), ["ready", "http", "grpc"]);
 * ```
 * @module
 */
import { readyHealthChecker } from "./ready.ts";
import { httpHealthChecker } from "./http.ts";
import { grpcHealthChecker } from "./grpc.ts";

export { readyChecker, readyHealthChecker } from "./ready.ts";
export { httpChecker, type HttpCheckSpec, httpHealthChecker, httpSpecSchema } from "./http.ts";
export { type GrpcCheckSpec, GrpcHealthChecker, grpcHealthChecker, grpcSpecSchema } from "./grpc.ts";

export const builtinHealthCheckers = [readyHealthChecker, httpHealthChecker, grpcHealthChecker] as const;
