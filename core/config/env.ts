/**
 * The environment variables zen-lead reads, in one list: the process runs with `--allow-env` limited to these
 * (see the `start` task in deno.json), so reading any other would fail. Each is read alone; one that the
 * runtime does not let us read counts as unset.
 */
export const ENV_VARS = [
  "POD_NAMESPACE",
  "POD_NAME",
  "WATCH_NAMESPACE",
  "ZEN_LEAD_CONFIG_MAP",
  "KUBECONFIG",
  "HOME",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
] as const;

/** The values of `names` (default ENV_VARS); unset or unreadable ones are absent. */
export function readEnv(names: readonly string[] = ENV_VARS): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of names) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) out[name] = value;
    } catch { /* not permitted: as if unset */ }
  }
  return out;
}
