/**
 * zen-lead's entry point: `deno task start` (or the compiled binary) runs the controller against the current
 * kubeconfig (`--kubeconfig`, `KUBECONFIG`, or in-cluster configuration). See `--help` for flags.
 */
import { runController } from "./core/app.ts";
import { runGrpcProber } from "./health/grpc_prober_main.ts";
import { PROBER_FLAG } from "./health/grpc_prober_protocol.ts";

export { runController };

if (import.meta.main && Deno.args[0] === PROBER_FLAG) {
  // The compiled binary runs its own gRPC prober process (health/grpc_prober.ts).
  await runGrpcProber();
} else if (import.meta.main) {
  try {
    await runController(Deno.args);
  } catch (e) {
    console.error(
      JSON.stringify({ time: new Date().toISOString(), level: "error", msg: (e as Error).message }),
    );
    Deno.exit(1);
  }
}
