/**
 * zen-lead's entry point: `deno task start` (or the compiled binary) runs the controller against the current
 * kubeconfig (`--kubeconfig`, `KUBECONFIG`, or in-cluster configuration). See `--help` for flags.
 */
import { runController } from "./core/app.ts";

export { runController };

if (import.meta.main) {
  try {
    await runController(Deno.args);
  } catch (e) {
    console.error(
      JSON.stringify({ time: new Date().toISOString(), level: "error", msg: (e as Error).message }),
    );
    Deno.exit(1);
  }
}
