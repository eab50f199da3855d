/** Flags of the `explain` and `status` commands, parsed like the controller's (`--flag=value`, `--flag value`). */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type Output = "text" | "json" | "yaml";
export const OUTPUTS: readonly Output[] = ["text", "json", "yaml"];

export interface CliOptions {
  positional: string[];
  output: Output;
  kubeconfig?: string;
  /** `-n`; absent means the kubeconfig context's namespace is not used: status lists every namespace. */
  namespace?: string;
  allNamespaces: boolean;
  configMap: { namespace: string; name: string };
  statusURL?: string;
  leaseName: string;
  metricsPort: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseCliArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliOptions {
  const o: CliOptions = {
    positional: [],
    output: "text",
    kubeconfig: env.KUBECONFIG || undefined,
    allNamespaces: false,
    configMap: { namespace: env.POD_NAMESPACE || "zen-lead-system", name: "zen-lead-config" },
    statusURL: env.ZEN_LEAD_STATUS_URL || undefined,
    leaseName: "zen-lead-controller-leader-election",
    metricsPort: 8080,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^(--?[a-zA-Z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      o.positional.push(arg);
      continue;
    }
    const [, flag, inline] = m;
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`flag ${flag}: expected a value, received none`);
      return argv[++i];
    };
    switch (flag) {
      case "-o":
      case "--output": {
        const v = value();
        if (!(OUTPUTS as readonly string[]).includes(v)) {
          throw new UsageError(
            `flag ${flag}: expected one of ${OUTPUTS.join(", ")}, received ${JSON.stringify(v)}`,
          );
        }
        o.output = v as Output;
        break;
      }
      case "--kubeconfig":
        o.kubeconfig = value();
        break;
      case "-n":
      case "--namespace": {
        const v = value();
        if (!DNS_LABEL.test(v)) {
          throw new UsageError(`flag ${flag}: expected a namespace name, received ${JSON.stringify(v)}`);
        }
        o.namespace = v;
        break;
      }
      case "-A":
      case "--all-namespaces":
        o.allNamespaces = true;
        break;
      case "--config-map": {
        const v = value();
        const [a, b, ...rest] = v.split("/");
        const ok = rest.length === 0 && DNS_LABEL.test(a) && (b === undefined || DNS_LABEL.test(b));
        if (!ok) {
          throw new UsageError(
            `flag --config-map: expected name or namespace/name, received ${JSON.stringify(v)}`,
          );
        }
        o.configMap = b === undefined ? { ...o.configMap, name: a } : { namespace: a, name: b };
        break;
      }
      case "--status-url": {
        const v = value();
        if (!/^https?:\/\//.test(v)) {
          throw new UsageError(`flag --status-url: expected an http(s) URL, received ${JSON.stringify(v)}`);
        }
        o.statusURL = v;
        break;
      }
      case "--leader-election-id":
        o.leaseName = value();
        break;
      case "--metrics-port": {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 1 || v > 65535) {
          throw new UsageError(`flag --metrics-port: expected 1-65535`);
        }
        o.metricsPort = v;
        break;
      }
      default:
        throw new UsageError(`unknown flag ${flag} (see zen-lead help)`);
    }
  }
  return o;
}

export const CLI_HELP = `Usage:
  zen-lead explain NAMESPACE/SERVICE [-o text|json|yaml]   why this pod leads, and why not the others
  zen-lead status [-n NAMESPACE | -A] [-o text|json|yaml]   every opted-in Service: leader, age, last failover
  zen-lead [controller flags]                               run the controller (see zen-lead --help)

As a kubectl plugin (installed as kubectl-zen_lead): kubectl zen-lead explain ..., kubectl zen-lead status.

Flags of explain and status:
  --kubeconfig PATH           kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --config-map [NS/]NAME      zen-lead's ConfigMap (default zen-lead-system/zen-lead-config)
  --status-url URL            the controller's status endpoint, e.g. http://127.0.0.1:8080/status
                              (default: the active replica's pod, through the API server's proxy)
  --leader-election-id NAME   Lease of the controller replicas (default zen-lead-controller-leader-election)
  --metrics-port PORT         port of the controller's metrics address, where /status is (default 8080)
`;
