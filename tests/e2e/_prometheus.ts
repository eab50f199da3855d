/** A real Prometheus for e2e tests: its own temp dir, a free loopback port, queried over its HTTP API. */
import { freePorts } from "../harness/ports.ts";
import { ROOT } from "./_env.ts";

/** One sample of an instant query's answer. */
export interface PromSample<M = Record<string, string>> {
  metric: M;
  value: [number, string];
}

export interface Prometheus {
  readonly port: number;
  /** The instant query `q`; throws with Prometheus' error unless the answer is a success. */
  query<M = Record<string, string>>(q: string): Promise<PromSample<M>[]>;
  /** GET `/api/v1/<path>` (rules, alerts) as JSON. */
  api<T>(path: string): Promise<T>;
  /** Stops the server and removes its dir; a second call does nothing. */
  stop(): Promise<void>;
}

/** prometheus.yml scraping zen-lead's plain /metrics on `metricsPort` every second, with the chart's alert rules. */
export function zenLeadScrapeConfig(metricsPort: number): string {
  return `global: { scrape_interval: 1s, evaluation_interval: 1s }\n` +
    `rule_files: ["${ROOT}deploy/helm/zen-lead/files/alerts.yaml"]\n` +
    `scrape_configs:\n  - job_name: zen-lead\n    static_configs: [{ targets: ["127.0.0.1:${metricsPort}"] }]\n`;
}

/**
 * Starts Prometheus with the config `config(dir)` returns; `files` are written into its dir first (tokens, CAs
 * the config names by path).
 */
export async function startPrometheus(
  prefix: string,
  config: (dir: string) => string,
  files: Record<string, string> = {},
): Promise<Prometheus> {
  const dir = await Deno.makeTempDir({ prefix });
  const [port] = freePorts(1);
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
  await Deno.writeTextFile(`${dir}/prometheus.yml`, config(dir));
  let child: Deno.ChildProcess | undefined = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const api = async <T>(path: string): Promise<T> =>
    await (await fetch(`http://127.0.0.1:${port}/api/v1/${path}`)).json() as T;
  return {
    port,
    api,
    async query<M>(q: string) {
      const body = await api<{ status: string; error?: string; data?: { result: PromSample<M>[] } }>(
        `query?query=${encodeURIComponent(q)}`,
      );
      if (body.status !== "success") throw new Error(`${q}: ${body.error}`);
      return body.data?.result ?? [];
    },
    async stop() {
      if (!child) return;
      child.kill("SIGTERM");
      await child.status;
      child = undefined;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
