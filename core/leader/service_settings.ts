/**
 * A Service's zen-lead settings from its annotations. An invalid value never changes routing: that field keeps its
 * last good value (or the default when none is known) and the error is reported as `InvalidAnnotation`.
 */
import * as v from "valibot";
import type { AnySchema, HealthChecker } from "../plugin/types.ts";
import { type ParsedHealthCheck, parseHealthCheck } from "../probing/spec.ts";
import { ANN } from "./annotations.ts";
import { parseGoDuration } from "./duration.ts";
import { inRange, RANGES, rangeText, shownValue } from "../config/ranges.ts";

export type FailMode = "open" | "closed";

export interface ServiceSettings {
  strategy: string;
  strategyOptions: unknown;
  sticky: boolean;
  count: number;
  minReadyMs: number;
  healthCheck: ParsedHealthCheck;
  failMode: FailMode;
  backend?: string;
}

/** Cluster-wide defaults (ConfigMap `defaults:`) and what the kernel offers. */
export interface SettingsContext {
  defaultStrategy: string;
  defaultSticky: boolean;
  defaultHealthCheck: string;
  defaultFailMode: FailMode;
  /** Per-strategy default options from the ConfigMap. */
  strategyDefaults: Readonly<Record<string, Record<string, unknown>>>;
  strategies: readonly string[];
  strategyOptionsSchema(name: string): AnySchema | undefined;
  healthTypes: readonly string[];
  healthChecker(name: string): HealthChecker | undefined;
  backends: readonly string[];
  /** ConfigMap `defaults.backend`: the backend of LoadBalancer Services that name none. */
  defaultBackend?: string;
}

export interface AnnotationError {
  annotation: string;
  value: string;
  message: string;
}

export interface SettingsResult {
  settings: ServiceSettings;
  errors: AnnotationError[];
}

function choices(list: readonly string[]): string {
  return list.map((s) => `"${s}"`).join(", ");
}

/** A parse error's message, short: V8 quotes the input in it. */
function shortError(e: unknown): string {
  const text = (e as Error)?.message ?? String(e);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function issuesText(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues.map((i) => {
    const path = i.path?.map((p) => String(p.key)).join(".");
    return `${path ? path + ": " : ""}expected ${i.expected ?? "a valid value"}, received ${i.received}`;
  }).join("; ");
}

export function parseServiceSettings(
  annotations: Readonly<Record<string, string>>,
  ctx: SettingsContext,
  lastGood?: ServiceSettings,
  serviceType?: string,
): SettingsResult {
  const errors: AnnotationError[] = [];
  // The annotation and what is valid come first; the offending value last, cut to ~200 characters.
  const bad = (annotation: string, message: string) =>
    errors.push({
      annotation,
      value: annotations[annotation],
      message: `annotation ${annotation}: ${message}; received ${shownValue(annotations[annotation])}`,
    });

  let strategy = lastGood?.strategy ?? ctx.defaultStrategy;
  const rawStrategy = annotations[ANN.strategy];
  if (rawStrategy === undefined || rawStrategy === "") strategy = ctx.defaultStrategy;
  else if (ctx.strategies.includes(rawStrategy)) strategy = rawStrategy;
  else bad(ANN.strategy, `valid choices: ${choices(ctx.strategies)} (the enabled strategies)`);

  let strategyOptions: unknown = lastGood?.strategy === strategy ? lastGood.strategyOptions : undefined;
  const base = ctx.strategyDefaults[strategy] ?? {};
  const rawOptions = annotations[ANN.strategyOptions];
  let merged: unknown = base;
  let optionsOk = true;
  if (rawOptions !== undefined && rawOptions !== "") {
    try {
      const parsed = JSON.parse(rawOptions);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error("not a JSON object");
      }
      merged = { ...base, ...parsed };
    } catch (e) {
      optionsOk = false;
      bad(
        ANN.strategyOptions,
        `expected a JSON object of options for strategy "${strategy}" (${shortError(e)})`,
      );
    }
  }
  if (optionsOk) {
    const schema = ctx.strategyOptionsSchema(strategy);
    if (!schema) strategyOptions = merged;
    else {
      const r = v.safeParse(schema, merged);
      if (r.success) strategyOptions = r.output;
      else if (rawOptions) {
        bad(
          ANN.strategyOptions,
          `invalid options for strategy "${strategy}": ${issuesText(r.issues).slice(0, 400)}`,
        );
      } else {
        // Broken ConfigMap defaults are the ConfigMap's error, reported at reload; fall back to no options.
        strategyOptions = strategyOptions ?? v.safeParse(schema, {}).output;
      }
    }
  }

  let sticky = lastGood?.sticky ?? ctx.defaultSticky;
  const rawSticky = annotations[ANN.sticky];
  if (rawSticky === undefined || rawSticky === "") sticky = ctx.defaultSticky;
  else if (rawSticky === "true" || rawSticky === "false") sticky = rawSticky === "true";
  else bad(ANN.sticky, `valid choices: "true", "false"`);

  let count = lastGood?.count ?? 1;
  const rawCount = annotations[ANN.leaderCount];
  if (rawCount === undefined || rawCount === "") count = 1;
  else if (/^\d{1,6}$/.test(rawCount.trim()) && inRange(+rawCount, RANGES.leaderCount)) {
    count = +rawCount;
  } else bad(ANN.leaderCount, `expected ${rangeText(RANGES.leaderCount)}`);

  let minReadyMs = lastGood?.minReadyMs ?? 0;
  const rawMin = annotations[ANN.minReadyDuration];
  if (rawMin === undefined || rawMin === "") minReadyMs = 0;
  else {
    const ms = parseGoDuration(rawMin);
    if (ms === undefined || !inRange(ms, RANGES.minReadyMs)) {
      bad(ANN.minReadyDuration, `expected a Go duration from 0s to 24h such as "30s", "1m30s", "500ms"`);
    } else minReadyMs = ms;
  }

  const lookup = (t: string) => ctx.healthChecker(t);
  let healthCheck = lastGood?.healthCheck;
  const rawHealth = annotations[ANN.healthCheck];
  if (rawHealth === undefined || rawHealth === "") healthCheck = undefined;
  else {
    const r = parseHealthCheck(rawHealth, lookup, ctx.healthTypes);
    if (r.ok) healthCheck = r.value;
    else errors.push({ annotation: ANN.healthCheck, value: rawHealth, message: r.error });
  }
  if (!healthCheck) {
    const r = parseHealthCheck(ctx.defaultHealthCheck, lookup, ctx.healthTypes);
    healthCheck = r.ok ? r.value : parseReadyFallback(lookup, ctx);
  }

  let failMode = lastGood?.failMode ?? ctx.defaultFailMode;
  const rawFail = annotations[ANN.healthFailMode];
  if (rawFail === undefined || rawFail === "") failMode = ctx.defaultFailMode;
  else if (rawFail === "open" || rawFail === "closed") failMode = rawFail;
  else bad(ANN.healthFailMode, `valid choices: "open", "closed"`);

  let backend = lastGood?.backend;
  const rawBackend = annotations[ANN.backend];
  if (rawBackend === undefined || rawBackend === "") {
    backend =
      serviceType === "LoadBalancer" && ctx.defaultBackend && ctx.backends.includes(ctx.defaultBackend)
        ? ctx.defaultBackend
        : undefined;
  } else if (ctx.backends.includes(rawBackend)) backend = rawBackend;
  else {
    bad(
      ANN.backend,
      ctx.backends.length
        ? `valid choices: ${choices(ctx.backends)} (the enabled backends)`
        : `no cloud backend is enabled in the zen-lead ConfigMap`,
    );
  }

  return {
    settings: { strategy, strategyOptions, sticky, count, minReadyMs, healthCheck, failMode, backend },
    errors,
  };
}

/** `ready` always exists (the kernel's health default); a broken default-health setting must not stop routing. */
function parseReadyFallback(lookup: (t: string) => HealthChecker | undefined, ctx: SettingsContext) {
  const r = parseHealthCheck("ready", lookup, ctx.healthTypes);
  if (r.ok) return r.value;
  throw new Error(`the "ready" health checker is not registered; it is the kernel's default and must exist`);
}
