/**
 * Parses the `zen-lead.io/health-check` annotation: JSON (`{"type":"http","port":8080,"path":"/healthz",
 * "intervalSeconds":1}`) or a short form (`http:8080/healthz`, `grpc:9090/my.Service`, `ready`). The kernel owns
 * the scheduling fields; everything else is the checker plugin's spec, validated by its `specSchema`.
 */
import * as v from "valibot";
import type { AnySchema, HealthChecker } from "../plugin/types.ts";
import { RANGES, rangeSchema, rangeText, shownValue } from "../config/ranges.ts";

export const HEALTH_CHECK_ANNOTATION = "zen-lead.io/health-check";

/** When and how strictly the kernel probes; times in milliseconds. */
export interface ProbeSchedule {
  /** Cadence for the current leader. */
  intervalMs: number;
  /** Each check is aborted after this long and counts as a failure. */
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  /** Slower cadence for pods that are not leading, so a successor's health is known before it is needed. */
  candidateIntervalMs: number;
}

export const DEFAULT_SCHEDULE: Readonly<ProbeSchedule> = Object.freeze({
  intervalMs: 1000,
  timeoutMs: 1000,
  failureThreshold: 3,
  successThreshold: 1,
  candidateIntervalMs: 5000,
});

export interface ParsedHealthCheck {
  /** The checker plugin's name, e.g. `http`. */
  type: string;
  checker: HealthChecker;
  schedule: ProbeSchedule;
  /** The plugin's validated spec, scheduling fields removed. */
  spec: unknown;
}

export type HealthCheckParse = { ok: true; value: ParsedHealthCheck } | { ok: false; error: string };

/** The fields the kernel reads; the plugin never sees them. Ranges: core/config/ranges.ts. */
const scheduleSchema = v.object({
  intervalSeconds: v.optional(rangeSchema(RANGES.intervalSeconds)),
  timeoutSeconds: v.optional(rangeSchema(RANGES.timeoutSeconds)),
  failureThreshold: v.optional(rangeSchema(RANGES.failureThreshold)),
  successThreshold: v.optional(rangeSchema(RANGES.successThreshold)),
  candidateIntervalSeconds: v.optional(rangeSchema(RANGES.candidateIntervalSeconds)),
});

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const SCHEDULE_FIELDS = ["type", ...Object.keys(scheduleSchema.entries)];

/**
 * Parses and validates the annotation's text. `lookup` finds a health checker plugin by name; `knownTypes`
 * (the names `lookup` accepts) only improves the error message.
 *
 * @example
 * ```ts
 * import { parseHealthCheck } from "./spec.ts";
 * const ready = { passive: true, check: () => Promise.resolve({ healthy: true, reason: "Ready" }) };
 * const r = parseHealthCheck("ready", (t) => t === "ready" ? ready : undefined);
 * console.assert(r.ok && r.value.schedule.intervalMs === 1000);
 * ```
 */
export function parseHealthCheck(
  text: string,
  lookup: (type: string) => HealthChecker | undefined,
  knownTypes: readonly string[] = [],
): HealthCheckParse {
  const trimmed = text.trim();
  // The annotation and what is valid first, then what is wrong, then the value cut to ~200 characters.
  const fail = (what: string, expected: string): HealthCheckParse => ({
    ok: false,
    error: `annotation ${HEALTH_CHECK_ANNOTATION}: expected ${expected}; ${cut(what, 300)}; received ${
      shownValue(text)
    }`,
  });
  const typesHint = knownTypes.length ? `one of the types [${knownTypes.join(", ")}]` : "a registered type";
  const formsHint = `JSON like {"type":"http","port":8080,"path":"/healthz"} or a short form like ` +
    `"http:8080/healthz", "grpc:9090/my.Service", "ready"`;

  if (trimmed === "") return fail("empty value", formsHint);

  let type: string;
  let rest: Record<string, unknown> = {};
  let scheduleInput: Record<string, unknown> = {};
  let checker: HealthChecker | undefined;
  let specInput: unknown;

  if (trimmed.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      return fail(`malformed JSON (${(e as Error).message})`, formsHint);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return fail("JSON is not an object", formsHint);
    }
    const obj = json as Record<string, unknown>;
    if (typeof obj.type !== "string" || obj.type === "") {
      return fail(`field "type" is missing or not a string`, `"type" to be ${typesHint}`);
    }
    type = obj.type;
    for (const [k, val] of Object.entries(obj)) {
      if (SCHEDULE_FIELDS.includes(k)) scheduleInput[k] = val;
      else rest[k] = val;
    }
    checker = lookup(type);
    if (!checker) return fail(`unknown health check type ${shownValue(type, 60)}`, typesHint);
    specInput = rest;
  } else {
    const colon = trimmed.indexOf(":");
    type = colon < 0 ? trimmed : trimmed.slice(0, colon);
    const arg = colon < 0 ? "" : trimmed.slice(colon + 1);
    checker = lookup(type);
    if (!checker) {
      return fail(`unknown health check type ${shownValue(type, 60)}`, `${typesHint}, or ${formsHint}`);
    }
    if (checker.parseShort) {
      try {
        specInput = checker.parseShort(arg);
      } catch (e) {
        return fail(`invalid short form for type "${type}": ${(e as Error).message}`, formsHint);
      }
    } else if (arg !== "") {
      return fail(`type "${type}" takes no argument after ":"`, `just "${type}"`);
    } else {
      specInput = {};
    }
    rest = typeof specInput === "object" && specInput !== null ? specInput as Record<string, unknown> : {};
    scheduleInput = {};
  }

  const sched = v.safeParse(scheduleSchema, scheduleInput);
  if (!sched.success) {
    return fail(
      describeIssues(sched.issues),
      `scheduling fields [${SCHEDULE_FIELDS.join(", ")}]: ` +
        `intervalSeconds ${rangeText(RANGES.intervalSeconds)}, timeoutSeconds ${
          rangeText(RANGES.timeoutSeconds)
        }, ` +
        `candidateIntervalSeconds ${rangeText(RANGES.candidateIntervalSeconds)}, thresholds ` +
        `${rangeText(RANGES.failureThreshold)}`,
    );
  }

  let spec: unknown = specInput;
  if (checker.specSchema) {
    const parsed = v.safeParse(checker.specSchema as AnySchema, specInput);
    if (!parsed.success) {
      return fail(
        `invalid ${type} check: ${describeIssues(parsed.issues)}`,
        `fields [${[...SCHEDULE_FIELDS, ...fieldsOf(checker.specSchema)].join(", ")}]`,
      );
    }
    spec = parsed.output;
  } else if (Object.keys(rest).length > 0) {
    return fail(
      `type "${type}" takes no fields of its own but got [${Object.keys(rest).join(", ")}]`,
      `only [${SCHEDULE_FIELDS.join(", ")}]`,
    );
  }

  const s = sched.output;
  const intervalMs = secondsToMs(s.intervalSeconds) ?? DEFAULT_SCHEDULE.intervalMs;
  return {
    ok: true,
    value: {
      type,
      checker,
      spec,
      schedule: {
        intervalMs,
        timeoutMs: secondsToMs(s.timeoutSeconds) ?? DEFAULT_SCHEDULE.timeoutMs,
        failureThreshold: s.failureThreshold ?? DEFAULT_SCHEDULE.failureThreshold,
        successThreshold: s.successThreshold ?? DEFAULT_SCHEDULE.successThreshold,
        // A candidate is never probed more often than the leader.
        candidateIntervalMs: Math.max(
          intervalMs,
          secondsToMs(s.candidateIntervalSeconds) ?? DEFAULT_SCHEDULE.candidateIntervalMs,
        ),
      },
    },
  };
}

function secondsToMs(s: number | undefined): number | undefined {
  return s === undefined ? undefined : Math.round(s * 1000);
}

/** "port: Invalid type: Expected number but received "x"" for each issue, joined. */
function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues.map((i) => {
    const path = v.getDotPath(i);
    // valibot words object key problems as "Invalid key: Expected never" / "Expected \"port\""; say what they mean.
    if ((i.type === "strict_object" || i.type === "object") && path) {
      return i.expected === "never" ? `unknown field "${path}"` : `missing field "${path}"`;
    }
    // a range check's message is the range; say it is what was expected, and what came.
    const message = i.type === "check" || i.type === "custom"
      ? `expected ${i.message}, received ${i.received}`
      : i.message;
    return path ? `${path}: ${message}` : message;
  }).join("; ");
}

/** The field names of an object schema, for "valid fields" hints; none for other schema kinds. */
function fieldsOf(schema: AnySchema): string[] {
  const entries = (schema as { entries?: Record<string, unknown> }).entries;
  return entries ? Object.keys(entries) : [];
}
