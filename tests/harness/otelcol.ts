/**
 * A real OpenTelemetry Collector for the tests (built by build-otelcol.sh): OTLP/HTTP in on a free loopback
 * port, traces and metrics out to JSON-lines files that the tests read. Its own telemetry is off, so it
 * listens on nothing else.
 */
import { fileURLToPath } from "node:url";
import { freePorts } from "./ports.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

export interface OtlpAttr {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpAttr[];
  status?: { code?: number };
  events?: { name: string; timeUnixNano: string }[];
}

export interface Collector {
  /** http://127.0.0.1:PORT: the value of OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  dir: string;
  /** Every span the file exporter wrote so far, with its resource's attributes. */
  spans(): Promise<(OtlpSpan & { resource: Record<string, unknown> })[]>;
  /** Every metric the file exporter wrote so far (the raw OTLP JSON of each). */
  metrics(): Promise<{ name: string; data: Record<string, unknown> }[]>;
  stop(): Promise<void>;
}

/** Builds the collector when missing (cached under ~/.cache/zen-lead/otelcol), returns the binary's path. */
export async function ensureCollector(): Promise<string> {
  const build = await new Deno.Command("bash", {
    args: [`${HERE}build-otelcol.sh`],
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (!build.success) throw new Error("tests/harness/build-otelcol.sh failed (its output is above)");
  const home = Deno.env.get("ZEN_LEAD_OTELCOL_CACHE") ?? `${Deno.env.get("HOME")}/.cache/zen-lead/otelcol`;
  const script = await Deno.readTextFile(`${HERE}build-otelcol.sh`);
  const version = /^OTELCOL_VERSION=(\S+)/m.exec(script)?.[1];
  return `${home}/${version}/otelcol-zen-lead`;
}

export function attr(attrs: OtlpAttr[] | undefined, key: string): string | number | boolean | undefined {
  const v = attrs?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

async function jsonLines(path: string): Promise<Record<string, unknown>[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  // A line being written may be incomplete: only whole lines count.
  return text.split("\n").filter((l) => l.trim() !== "").flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

export async function startCollector(): Promise<Collector> {
  const bin = await ensureCollector();
  const dir = await Deno.makeTempDir({ prefix: "zen-lead-otelcol-" });
  const [port] = freePorts(1);
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
exporters:
  file/traces:
    path: ${dir}/traces.jsonl
    flush_interval: 100ms
  file/metrics:
    path: ${dir}/metrics.jsonl
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file/traces]
    metrics:
      receivers: [otlp]
      exporters: [file/metrics]
`,
  );
  const child = new Deno.Command(bin, {
    args: [`--config=${dir}/config.yaml`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log.push(chunk);
  })();
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    // The OTLP receiver answers 405 to GET once it listens.
    const up = await fetch(`${endpoint}/v1/traces`).then(
      (r) => r.body?.cancel().then(() => true),
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `the collector did not listen on ${endpoint} within 30 s:\n${log.join("").slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    dir,
    async spans() {
      const out: (OtlpSpan & { resource: Record<string, unknown> })[] = [];
      for (const req of await jsonLines(`${dir}/traces.jsonl`)) {
        for (
          const rs of (req.resourceSpans ?? []) as {
            resource?: { attributes?: OtlpAttr[] };
            scopeSpans?: { spans?: OtlpSpan[] }[];
          }[]
        ) {
          const resource = Object.fromEntries(
            (rs.resource?.attributes ?? []).map((a) => [a.key, attr([a], a.key)]),
          );
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) out.push({ ...s, resource });
        }
      }
      return out;
    },
    async metrics() {
      const out: { name: string; data: Record<string, unknown> }[] = [];
      for (const req of await jsonLines(`${dir}/metrics.jsonl`)) {
        for (
          const rm of (req.resourceMetrics ?? []) as {
            scopeMetrics?: { metrics?: Record<string, unknown>[] }[];
          }[]
        ) {
          for (const sm of rm.scopeMetrics ?? []) {
            for (const m of sm.metrics ?? []) out.push({ name: String(m.name), data: m });
          }
        }
      }
      return out;
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await reading.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
