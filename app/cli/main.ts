/**
 * The user-facing commands of the zen-lead binary, also installed as the kubectl plugin `kubectl-zen_lead`:
 * `explain NAMESPACE/SERVICE` and `status`. They only read from the API server (and the controller's /status).
 */
import { stringify } from "yaml";
import { KubeClient } from "../../core/kube/client.ts";
import { loadCredentials } from "../../core/kube/kubeconfig.ts";
import { Events } from "../../core/kube/paths.ts";
import type { KubeObject } from "../../core/kube/types.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import type { KernelParts } from "../../core/plugin/kernel.ts";
import { explainService } from "../../core/explain/explain.ts";
import { explainInputFor, readSnapshot } from "../../core/explain/read.ts";
import { renderText } from "../../core/explain/render_text.ts";
import { CLI_HELP, type CliOptions, parseCliArgs, UsageError } from "./args.ts";
import { changeEvents, renderStatusText, statusReport } from "./status.ts";

export const CLI_COMMANDS = ["explain", "status", "help"] as const;

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

const defaultIO: CliIO = {
  out: (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)),
  err: (t) => Deno.stderr.writeSync(new TextEncoder().encode(t)),
  env: Deno.env.toObject(),
};

function format(value: unknown, output: CliOptions["output"], text: () => string): string {
  if (output === "json") return JSON.stringify(value, null, 2) + "\n";
  if (output === "yaml") return stringify(value);
  return text();
}

async function clientFor(o: CliOptions): Promise<KubeClient> {
  const credentials = await loadCredentials(o.kubeconfig);
  return KubeClient.fromCredentials(credentials, {
    metrics: new MetricsRegistry(),
    qps: 0,
    timeoutMs: 15_000,
  });
}

/** Runs one command; returns the process exit code (0 ok, 1 failed, 2 usage). */
export async function runCli(
  argv: readonly string[],
  kernelParts: KernelParts,
  io: CliIO = defaultIO,
): Promise<number> {
  const [command, ...rest] = argv;
  let o: CliOptions;
  try {
    o = parseCliArgs(rest, io.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`zen-lead ${command}: ${e.message}\n\n${CLI_HELP}`);
    return 2;
  }
  if (command === "help" || command === undefined) {
    io.out(CLI_HELP);
    return 0;
  }
  if (command === "explain") {
    const target = o.positional[0] ?? "";
    const m = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(target);
    const ns = m?.[1] ?? (target && !target.includes("/") ? o.namespace : undefined);
    const name = m?.[2] ?? (target && !target.includes("/") ? target : undefined);
    if (!ns || !name || o.positional.length > 1) {
      io.err(
        `zen-lead explain: expected NAMESPACE/SERVICE (or SERVICE with -n NAMESPACE), received ${
          JSON.stringify(o.positional.join(" "))
        }\n`,
      );
      return 2;
    }
    const client = await clientFor(o);
    const snap = await readSnapshot({ ...o, client, kernelParts }, ns);
    try {
      const svc = snap.services.find((s) => s.metadata.name === name);
      if (!svc) {
        io.err(`zen-lead explain: Service ${ns}/${name} not found\n`);
        return 1;
      }
      const e = explainService(explainInputFor(snap, svc));
      io.out(format(e, o.output, () => renderText(e)));
      return 0;
    } finally {
      await snap.close();
      client.close();
    }
  }
  if (command === "status") {
    const client = await clientFor(o);
    const ns = o.allNamespaces ? undefined : o.namespace;
    const snap = await readSnapshot({ ...o, client, kernelParts }, ns);
    try {
      const events = await client.list<KubeObject>(Events, {
        namespace: ns,
        fieldSelector: "reason=LeaderChanged",
      })
        .then((l) => changeEvents(l.items), () => []);
      const r = statusReport(snap, events);
      io.out(format(r, o.output, () => renderStatusText(r, snap.now)));
      return 0;
    } finally {
      await snap.close();
      client.close();
    }
  }
  io.err(
    `zen-lead: unknown command ${JSON.stringify(command)}; expected one of ${
      CLI_COMMANDS.join(", ")
    }\n\n${CLI_HELP}`,
  );
  return 2;
}
