/** Parses and validates the text of `config.yaml` into a ZenLeadConfig, or every problem with it. */
import * as v from "valibot";
import { parseDocument } from "yaml";
import { describeIssues } from "../plugin/issues.ts";
import { configSchema, type ZenLeadConfig } from "./schema.ts";

export const CONFIG_KEY = "config.yaml";

export type ParseResult = { ok: true; config: ZenLeadConfig } | { ok: false; problems: string[] };

/** Empty text is the empty configuration (all defaults). */
export function parseConfigText(text: string): ParseResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      // pretty errors end their first line with "at line L, column C:"; the rest is a source excerpt.
      problems: doc.errors.map((e) =>
        `${CONFIG_KEY}: not valid YAML: ${e.message.split("\n")[0].replace(/:$/, "")}`
      ),
    };
  }
  const raw = doc.toJS() ?? {};
  const result = v.safeParse(configSchema, raw, { abortEarly: false });
  if (result.success) return { ok: true, config: result.output };
  return { ok: false, problems: describeIssues(`${CONFIG_KEY}: `, "", result.issues) };
}
