/**
 * Parses and validates the text of `config.yaml` into a ZenLeadConfig, or every problem with it. Never throws:
 * hostile YAML (aliases without anchors, alias bombs, deep nesting, tags that build Sets or Buffers) becomes a
 * problem like any other, so a ConfigMap can refuse a version but not stop the controller.
 */
import * as v from "valibot";
import { parseDocument } from "yaml";
import { errorText } from "../plugin/errors.ts";
import { describeIssues } from "../plugin/issues.ts";
import { configSchema, type ZenLeadConfig } from "./schema.ts";

export const CONFIG_KEY = "config.yaml";

/** Aliases a configuration may use; expanding more is how an alias bomb exhausts memory. */
export const MAX_ALIASES = 50;
/** Nesting depth of maps and lists a configuration may use. */
export const MAX_DEPTH = 32;

export type ParseResult = { ok: true; config: ZenLeadConfig } | { ok: false; problems: string[] };

function yamlProblem(message: string): string {
  if (/call stack/i.test(message)) message = `nesting too deep to parse (${message})`;
  // pretty errors end their first line with "at line L, column C:"; the rest is a source excerpt.
  return `${CONFIG_KEY}: not valid YAML: ${message.split("\n")[0].replace(/:$/, "")}`;
}

/** Where the value stops being plain data (maps, lists, strings, numbers, booleans, null), or is too deep. */
function plainProblem(root: unknown): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: "", depth: 0 }];
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (value === null || typeof value === "string" || typeof value === "boolean") continue;
    if (typeof value === "number") continue;
    const where = path === "" ? "the document" : path;
    if (typeof value !== "object") return `${where}: expected plain data, received a ${typeof value}`;
    if (depth >= MAX_DEPTH) return `${where}: expected at most ${MAX_DEPTH} levels of nesting, received more`;
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
      return `${where}: expected a map, list or scalar, received a ${kind} (YAML tags such as !!set, ` +
        `!!binary, !!omap and !!timestamp are not accepted)`;
    }
    for (const [k, item] of Object.entries(value)) {
      stack.push({ value: item, path: path === "" ? k : `${path}.${k}`, depth: depth + 1 });
    }
  }
  return undefined;
}

/** The longest config.yaml accepted; a real one is a few KiB, and parsing time grows with the text. */
export const MAX_TEXT = 256 * 1024;

/**
 * The deepest `[`/`{` nesting in the text, counted before the YAML parser sees it (it slows down sharply on
 * thousands of levels). Brackets inside quotes count too: over-counting only refuses a very odd document.
 */
function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 91 || c === 123) max = Math.max(max, ++depth);
    else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
  return max;
}

/** Empty text is the empty configuration (all defaults). */
export function parseConfigText(text: string): ParseResult {
  if (text.length > MAX_TEXT) {
    return {
      ok: false,
      problems: [`${CONFIG_KEY}: expected at most ${MAX_TEXT} characters, received ${text.length}`],
    };
  }
  if (flowDepth(text) > MAX_DEPTH) {
    return {
      ok: false,
      problems: [
        `${CONFIG_KEY}: the document: expected at most ${MAX_DEPTH} levels of nesting, received more`,
      ],
    };
  }
  let raw: unknown;
  try {
    // YAML 1.2 core schema only: no 1.1 tags that build Sets, Buffers or Dates out of a ConfigMap.
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, resolveKnownTags: false });
    if (doc.errors.length > 0) return { ok: false, problems: doc.errors.map((e) => yamlProblem(e.message)) };
    const unresolved = doc.warnings.filter((w) => /tag/i.test(w.message));
    if (unresolved.length > 0) return { ok: false, problems: unresolved.map((w) => yamlProblem(w.message)) };
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES }) ?? {};
  } catch (error) {
    // toJS throws for an alias without its anchor and past maxAliasCount; a deep document overflows the stack.
    const why = error instanceof RangeError && !/alias/i.test(errorText(error))
      ? `nesting too deep to parse (${errorText(error)})`
      : errorText(error);
    return { ok: false, problems: [yamlProblem(why)] };
  }
  const notPlain = plainProblem(raw);
  if (notPlain) return { ok: false, problems: [`${CONFIG_KEY}: ${notPlain}`] };
  const result = v.safeParse(configSchema, raw, { abortEarly: false });
  if (result.success) return { ok: true, config: result.output };
  return { ok: false, problems: describeIssues(`${CONFIG_KEY}: `, "", result.issues) };
}
