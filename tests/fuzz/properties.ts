/**
 * The fuzz properties of the user-fed parsers, shared by the CI test (1,000 inputs each) and `deno task fuzz` (10,000): for
 * every input, no throw other than the validation error type, no change to Object.prototype, under 100 ms, and
 * every refusal names the field it is about. Each returns its figures: inputs, crashes, slowest input.
 */
import fc from "fast-check";
import { FlagError, parseFlags } from "../../core/config/flags.ts";
import { parseConfigText } from "../../core/config/parse.ts";
import { inRange, RANGES } from "../../core/config/ranges.ts";
import { ConfigReloader } from "../../core/config/reloader.ts";
import { defaultSettings } from "../../core/config/controller_settings.ts";
import { kernelParts } from "../../app/start.ts";
import { leaderNameFor } from "../../core/leader/names.ts";
import { parsePriority } from "../../core/leader/priority.ts";
import { parseServiceSettings, type SettingsContext } from "../../core/leader/service_settings.ts";
import { RootLogger } from "../../core/log.ts";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { PluginKernel } from "../../core/plugin/kernel.ts";
import { argv, configText, flagEnv, serviceAnnotations } from "./hostile.ts";

export interface FuzzFigures {
  target: string;
  inputs: number;
  crashes: number;
  slowestMs: number;
  slowestInput: string;
  /** The first failure, shrunk, when there was one. */
  failure?: string;
}

/** Per-input time bound; a slow input is timed twice more and judged by its fastest run (GC pauses). */
export const MAX_INPUT_MS = 100;

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(",");

function prototypeProblem(): string | undefined {
  if (Object.getOwnPropertyNames(Object.prototype).sort().join(",") !== PROTO_KEYS) {
    return "Object.prototype gained or lost a property";
  }
  if (({} as Record<string, unknown>).polluted !== undefined) return "Object.prototype.polluted is set";
  return undefined;
}

function show(input: unknown): string {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 120 ? `${text.slice(0, 120)}… (${text.length} chars)` : text;
}

class Figures {
  slowestMs = 0;
  slowestInput = "";
  constructor(readonly target: string) {}
  async time(input: unknown, run: () => unknown | Promise<unknown>): Promise<void> {
    let best = Infinity;
    for (let i = 0; i < 3 && best > MAX_INPUT_MS; i++) {
      const t0 = performance.now();
      await run();
      best = Math.min(best, performance.now() - t0);
    }
    if (best > this.slowestMs) [this.slowestMs, this.slowestInput] = [best, show(input)];
    if (best > MAX_INPUT_MS) throw new Error(`took ${best.toFixed(1)} ms, expected under ${MAX_INPUT_MS} ms`);
    const proto = prototypeProblem();
    if (proto) throw new Error(proto);
  }
  result<T>(details: fc.RunDetails<T>): FuzzFigures {
    return {
      target: this.target,
      inputs: details.numRuns,
      crashes: details.failed ? 1 : 0,
      slowestMs: Math.round(this.slowestMs * 10) / 10,
      slowestInput: this.slowestInput,
      ...(details.failed ? { failure: `${details.errorInstance} on ${show(details.counterexample)}` } : {}),
    };
  }
}

async function kernelContext(): Promise<SettingsContext> {
  const kernel = new PluginKernel({
    ...kernelParts(),
    logger: new RootLogger("error", () => {}),
    metrics: new MetricsRegistry(),
  });
  await kernel.configure([]);
  return {
    defaultStrategy: "oldest",
    defaultSticky: true,
    defaultHealthCheck: "ready",
    defaultFailMode: "open",
    strategyDefaults: {},
    strategies: kernel.names("strategy"),
    strategyOptionsSchema: (n) => kernel.strategy(n).optionsSchema,
    healthTypes: kernel.names("health"),
    healthChecker: (n) => kernel.has("health", n) ? kernel.health(n) : undefined,
    backends: kernel.names("backend"),
  };
}

/** Service and pod annotations: parseServiceSettings, the leader name and the pod priority. */
export async function fuzzAnnotations(numRuns: number, seed?: number): Promise<FuzzFigures> {
  const ctx = await kernelContext();
  const figures = new Figures("annotations");
  const details = await fc.check(
    fc.asyncProperty(serviceAnnotations, async (annotations) => {
      await figures.time(annotations, () => {
        const r = parseServiceSettings(annotations, ctx, undefined, "ClusterIP");
        for (const e of r.errors) {
          if (!(e.annotation in annotations)) {
            throw new Error(`refusal for ${e.annotation}, which was not given`);
          }
          if (!e.message.startsWith(`annotation ${e.annotation}: `)) {
            throw new Error(`refusal does not start with the annotation: ${e.message.slice(0, 200)}`);
          }
          if (e.message.length > 1500) throw new Error(`refusal of ${e.message.length} characters`);
        }
        if (!inRange(r.settings.minReadyMs, RANGES.minReadyMs)) throw new Error("min-ready out of range");
        if (!inRange(r.settings.count, RANGES.leaderCount)) throw new Error("leader count out of range");
        const name = leaderNameFor("web", annotations);
        if (name.error && !name.error.startsWith("annotation zen-lead.io/leader-service-name: ")) {
          throw new Error(`leader name refusal: ${name.error.slice(0, 200)}`);
        }
        const priority = parsePriority(annotations, annotations);
        if ("error" in priority && !priority.error.startsWith('pod annotation "zen-lead.io/priority"')) {
          throw new Error(`priority refusal: ${priority.error.slice(0, 200)}`);
        }
      });
    }),
    { numRuns, seed },
  );
  return figures.result(details);
}

const FIELD = /^(config\.yaml: )?(not valid YAML: |data: |plugin "[^"]+" \([a-z]+\): |[^:\s][^:]*: )/;

/** config.yaml through the parser and the reloader (schema, module policy, kernel checks, staged checks). */
export async function fuzzConfig(numRuns: number, seed?: number): Promise<FuzzFigures> {
  const logger = new RootLogger("error", () => {});
  const metrics = new MetricsRegistry();
  const kernel = new PluginKernel({ ...kernelParts(), logger, metrics });
  const reloader = new ConfigReloader({
    kernel,
    logger,
    metrics,
    recordEvent: () => {},
    flags: {},
    defaults: defaultSettings(),
    load: () => Promise.reject(new Error("the fuzzer never loads a module")),
  });
  let version = 0;
  const figures = new Figures("config.yaml");
  const details = await fc.check(
    fc.asyncProperty(configText, async (text) => {
      await figures.time(text, async () => {
        const parsed = parseConfigText(text);
        for (const p of parsed.ok ? [] : parsed.problems) {
          if (!FIELD.test(p)) throw new Error(`refusal names no field: ${p.slice(0, 200)}`);
        }
        const r = await reloader.apply({
          metadata: { name: "zen-lead-config", namespace: "ops", resourceVersion: String(++version) },
          data: { "config.yaml": text },
        });
        for (const p of r.ok ? [] : r.problems) {
          if (!FIELD.test(p)) throw new Error(`refusal names no field: ${p.slice(0, 200)}`);
        }
        if (r.ok) {
          const s = r.applied.settings;
          if (!inRange(s.qps, RANGES.qps) || !inRange(s.apiTimeoutSeconds, RANGES.apiTimeoutSeconds)) {
            throw new Error(`settings out of range: ${JSON.stringify(s)}`);
          }
        }
      });
    }),
    { numRuns, seed },
  );
  await kernel.close();
  return figures.result(details);
}

/** Flags and the env vars behind them. */
export async function fuzzFlags(numRuns: number, seed?: number): Promise<FuzzFigures> {
  const figures = new Figures("flags");
  const details = await fc.check(
    fc.asyncProperty(argv, flagEnv, async (args, env) => {
      await figures.time({ args, env }, () => {
        try {
          const { settings } = parseFlags(args, env);
          for (const key of ["qps", "burst", "apiTimeoutSeconds", "cacheUpdateTimeoutSeconds"] as const) {
            const value = settings[key];
            if (value !== undefined && !inRange(value, RANGES[key])) {
              throw new Error(`${key} ${value} accepted`);
            }
          }
        } catch (error) {
          if (!(error instanceof FlagError)) throw error;
          if (!/^(flag --[a-z-]+|env [A-Z_]+|unknown flag --|argument ")/.test(error.message)) {
            throw new Error(`refusal names no flag: ${error.message.slice(0, 200)}`);
          }
        }
      });
    }),
    { numRuns, seed },
  );
  return figures.result(details);
}
