/**
 * Command-line flags and environment variables, named as the predecessor's. Only what the user actually passed
 * is returned, so that everything else can come from the ConfigMap (see resolveSettings).
 */
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import { parseGoDuration } from "../leader/duration.ts";
import { ALLOW_FLAG, parseAllowList } from "../plugin/module_policy.ts";
import { type Range, rangeProblem, RANGES, rangeText } from "./ranges.ts";
import type { ControllerSettings } from "./controller_settings.ts";

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

type Kind = "string" | "bool" | "int" | "number" | "logLevel" | "namespaces" | "allowList" | "duration";

interface FlagDef {
  readonly flag: string;
  readonly field: keyof ControllerSettings;
  readonly kind: Kind;
  readonly help: string;
  readonly env?: string;
  /** The valid range of a number (ranges.ts), the same as in the ConfigMap. */
  readonly range?: Range;
}

const FLAGS: readonly FlagDef[] = [
  { flag: "metrics-bind-address", field: "metricsBindAddress", kind: "string", help: "address of /metrics" },
  {
    flag: "metrics-secure",
    field: "metricsSecure",
    kind: "bool",
    help:
      "serve the metrics address over HTTPS, callers authenticated by TokenReview and authorized by SubjectAccessReview",
  },
  {
    flag: "metrics-cert-dir",
    field: "metricsCertDir",
    kind: "string",
    help: "directory with tls.crt and tls.key for --metrics-secure (default: a self-signed certificate)",
  },
  {
    flag: "health-probe-bind-address",
    field: "healthProbeBindAddress",
    kind: "string",
    help: "address of /healthz and /readyz",
  },
  {
    flag: "ui-bind-address",
    field: "uiBindAddress",
    kind: "string",
    help: "address of the read-only status page (off unless set)",
  },
  {
    flag: "leader-elect",
    field: "leaderElect",
    kind: "bool",
    help: "elect one active replica through a Lease",
  },
  {
    flag: "leader-elect-lease-duration",
    field: "leaderElectLeaseDurationMs",
    kind: "duration",
    help:
      "how long a standby waits after the leader's last renewal before taking over (failover time on a crash)",
  },
  {
    flag: "leader-elect-renew-deadline",
    field: "leaderElectRenewDeadlineMs",
    kind: "duration",
    help: "how long the leader keeps writing without a successful renewal; must be < lease duration",
  },
  {
    flag: "leader-elect-retry-period",
    field: "leaderElectRetryPeriodMs",
    kind: "duration",
    help: "pause between renewals and between a standby's tries; must be < renew deadline",
  },
  {
    flag: "watch-stall-timeout",
    field: "watchStallTimeoutMs",
    kind: "duration",
    help:
      "a watch with no event or bookmark for this long is taken for dead and relisted; each watch asks the server to " +
      "end it (after a bookmark) before this, so a shorter bound reopens watches more often; from 4s to the lease " +
      "duration; default: renew deadline minus retry period",
  },
  {
    flag: "leader-election-id",
    field: "leaderElectionId",
    kind: "string",
    help: "name of the election Lease",
  },
  {
    flag: "max-cache-size-per-namespace",
    field: "maxCacheSizePerNamespace",
    range: RANGES.maxCacheSizePerNamespace,
    kind: "int",
    help: "cached leader decisions per namespace",
  },
  {
    flag: "max-concurrent-reconciles",
    field: "maxConcurrentReconciles",
    range: RANGES.maxConcurrentReconciles,
    kind: "int",
    help: "Services reconciled at once",
  },
  {
    flag: "max-pod-watch-namespaces",
    field: "maxPodWatchNamespaces",
    range: RANGES.maxPodWatchNamespaces,
    kind: "int",
    help:
      "pods are watched per namespace holding an opted-in Service; beyond this many namespaces, in one cluster-wide watch (0: always cluster-wide)",
  },
  { flag: "qps", field: "qps", kind: "number", range: RANGES.qps, help: "API requests per second" },
  { flag: "burst", field: "burst", kind: "int", range: RANGES.burst, help: "API request burst" },
  {
    flag: "cache-update-timeout-seconds",
    field: "cacheUpdateTimeoutSeconds",
    range: RANGES.cacheUpdateTimeoutSeconds,
    kind: "number",
    help: "how long to wait for the cache to see our own writes",
  },
  {
    flag: "api-timeout-seconds",
    field: "apiTimeoutSeconds",
    range: RANGES.apiTimeoutSeconds,
    kind: "number",
    help: "timeout of one API call",
  },
  { flag: "log-level", field: "logLevel", kind: "logLevel", help: `one of ${LOG_LEVELS.join(", ")}` },
  {
    flag: "config-map",
    field: "configMapName",
    env: "ZEN_LEAD_CONFIG_MAP",
    kind: "string",
    help: "configuration ConfigMap, `name` or `namespace/name`",
  },
  {
    flag: "watch-namespace",
    field: "watchNamespaces",
    env: "WATCH_NAMESPACE",
    kind: "namespaces",
    help: "comma-separated namespaces to watch; empty means all",
  },
  {
    flag: ALLOW_FLAG.slice(2),
    field: "pluginModuleAllow",
    kind: "allowList",
    help:
      "comma-separated directories and URL prefixes from which the ConfigMap's plugin `module:` entries " +
      "may load (URLs also need an integrity hash); empty loads none",
  },
  {
    flag: "kubeconfig",
    field: "kubeconfig",
    env: "KUBECONFIG",
    kind: "string",
    help: "path of a kubeconfig",
  },
];

export interface ParsedFlags {
  /** The settings the user passed (flags, then env vars for fields without a flag given). */
  readonly settings: Partial<ControllerSettings>;
  readonly help: boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function convert(def: FlagDef, raw: string, source: string): unknown {
  const bad = (expected: string) =>
    new FlagError(`${source}: expected ${expected}, received ${JSON.stringify(raw.slice(0, 200))}`);
  switch (def.kind) {
    case "string":
      if (raw === "") throw bad("a non-empty value");
      return raw;
    case "bool":
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw bad("true or false");
    case "int":
    case "number": {
      const range = def.range ?? { min: 1, max: Number.MAX_SAFE_INTEGER, integer: def.kind === "int" };
      const n = raw.trim() === "" ? NaN : Number(raw);
      const problem = rangeProblem(source, n, range);
      if (problem) {
        throw new FlagError(problem.replace(/received .*$/, `received ${JSON.stringify(raw.slice(0, 200))}`));
      }
      return n;
    }
    case "duration": {
      // Go syntax like the predecessor's (15s, 1m30s); bounded so a typo cannot disable failover for days.
      const ms = parseGoDuration(raw);
      if (ms === undefined || ms < 100 || ms > 3_600_000) {
        throw bad("a duration from 100ms to 1h, such as 15s");
      }
      return ms;
    }
    case "logLevel":
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw bad(`one of ${LOG_LEVELS.join(", ")}`);
      return raw as LogLevel;
    case "allowList":
      try {
        parseAllowList(raw, "/");
      } catch (e) {
        throw new FlagError(`${source}: ${(e as Error).message.replace(`${ALLOW_FLAG}: `, "")}`);
      }
      return raw;
    case "namespaces": {
      const list = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      const wrong = list.find((ns) => !DNS_LABEL.test(ns));
      if (wrong !== undefined) {
        throw bad(`comma-separated namespace names (${JSON.stringify(wrong)} is not one)`);
      }
      return list;
    }
  }
}

/** `--config-map` takes `name` or `namespace/name`; the namespace part goes to its own field. */
function splitConfigMap(settings: Partial<ControllerSettings>, source: string): void {
  const value = settings.configMapName;
  if (value === undefined || !value.includes("/")) {
    if (value !== undefined && !DNS_LABEL.test(value)) {
      throw new FlagError(
        `${source}: expected a ConfigMap name or namespace/name, received ${JSON.stringify(value)}`,
      );
    }
    return;
  }
  const [namespace, name, ...rest] = value.split("/");
  if (rest.length || !DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) {
    throw new FlagError(
      `${source}: expected a ConfigMap name or namespace/name, received ${JSON.stringify(value)}`,
    );
  }
  settings.configMapNamespace = namespace;
  settings.configMapName = name;
}

/**
 * Parses `--flag=value`, `--flag value`, `-flag=value` (Go style) and bare boolean flags. Env vars named in the
 * table apply where the flag was not given. Positional arguments and unknown flags are errors.
 */
export function parseFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedFlags {
  const settings: Record<string, unknown> = {};
  let help = false;
  let configMapSource = "";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      throw new FlagError(`argument ${JSON.stringify(arg)}: expected a flag such as --qps=50 (see --help)`);
    }
    const [, name, inline] = match;
    if (name === "help" || name === "h") {
      help = true;
      continue;
    }
    const def = FLAGS.find((f) => f.flag === name);
    if (!def) {
      throw new FlagError(
        `unknown flag --${name}; expected one of ${FLAGS.map((f) => "--" + f.flag).join(", ")} or --help`,
      );
    }
    let raw = inline;
    if (raw === undefined) {
      if (def.kind === "bool") raw = "true";
      else if (i + 1 < argv.length) raw = argv[++i];
      else throw new FlagError(`flag --${name}: expected a value (${def.help}), received none`);
    }
    settings[def.field] = convert(def, raw, `flag --${name}`);
    if (def.field === "configMapName") configMapSource = `flag --${name}`;
  }
  for (const def of FLAGS) {
    const raw = def.env ? env[def.env] : undefined;
    if (raw === undefined || raw === "" || settings[def.field] !== undefined) continue;
    settings[def.field] = convert(def, raw, `env ${def.env}`);
    if (def.field === "configMapName") configMapSource = `env ${def.env}`;
  }
  const typed = settings as Partial<ControllerSettings>;
  splitConfigMap(typed, configMapSource);
  return { settings: typed, help };
}

/** The `--help` text: every flag, its env var and its meaning. */
export function flagsHelp(defaults: ControllerSettings): string {
  const lines = FLAGS.map((f) => {
    const value = defaults[f.field];
    const shown = Array.isArray(value)
      ? value.join(",")
      : f.kind === "duration"
      ? `${Number(value) / 1000}s`
      : value;
    const env = f.env ? ` (env ${f.env})` : "";
    return `  --${f.flag}${f.kind === "bool" ? "[=true|false]" : "=<value>"}${env}\n      ${f.help}` +
      (shown === undefined || shown === "" ? "" : ` (default ${shown})`) +
      (f.range ? `; ${rangeText(f.range)}` : "");
  });
  return ["Usage: zen-lead [flags]", "", "Flags:", ...lines, "  --help", "      show this text", ""].join(
    "\n",
  );
}
