/**
 * zen-lead's entry point: `deno task start` (or the compiled binary) runs the controller against the current
 * kubeconfig (`--kubeconfig`, `KUBECONFIG`, or in-cluster configuration). See `--help` for flags.
 */
import { kernelParts, runController } from "./app/start.ts";
import { runGrpcProber } from "./health/grpc_prober_main.ts";
import { PROBER_FLAG } from "./health/grpc_prober_protocol.ts";
import { CLI_COMMANDS, runCli } from "./app/cli/main.ts";
import { registeredPlugins } from "./core/plugin/registry.ts";

/** Installed as `kubectl-zen_lead` (a compiled binary or the wrapper script) it only runs commands, never the controller. */
const asKubectlPlugin = /(^|\/)kubectl-zen_lead$/.test(Deno.execPath()) ||
  !!Deno.env.get("ZEN_LEAD_KUBECTL_PLUGIN");

export { runController };

if (import.meta.main && Deno.args[0] === PROBER_FLAG) {
  // The compiled binary runs its own gRPC prober process (health/grpc_prober.ts).
  await runGrpcProber();
} else if (
  import.meta.main &&
  (asKubectlPlugin || (CLI_COMMANDS as readonly string[]).includes(Deno.args[0]))
) {
  try {
    Deno.exit(await runCli(Deno.args, kernelParts(registeredPlugins())));
  } catch (e) {
    console.error(`zen-lead ${Deno.args[0] ?? ""}: ${(e as Error).message}`);
    Deno.exit(1);
  }
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
