/** Turns valibot issues into one-line problems: where (a dotted path under a root), what was expected, what came. */
import type { BaseIssue } from "valibot";

type Issue = BaseIssue<unknown>;

/** `root.a.b[2]` for the issue's path under `root`; empty for the root itself. */
export function issuePath(root: string, issue: Issue): string {
  let out = root;
  for (const item of issue.path ?? []) {
    const key = item.key;
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** A received value as shown in a problem: a 20 KB string must not push the rest of the message away. */
function cut(received: string, max = 200): string {
  return received.length > max
    ? `${received.slice(0, max)}…(${received.length - max} more characters)`
    : received;
}

/** `<path>: expected <what>, received <value>`; an unknown key of a strict object says so. */
export function describeIssue(root: string, issue: Issue): string {
  const path = issuePath(root, issue);
  const where = path === "" ? "" : `${path}: `;
  // strict objects report an extra key as "expected never"; say what that means.
  if (issue.expected === "never" && issue.type.startsWith("strict_")) {
    return `${where}unknown key (expected none of that name), received ${cut(issue.received)}`;
  }
  // objects report a missing key as expecting the key's own name.
  const last = issue.path?.at(-1)?.key;
  if (
    issue.received === "undefined" && last !== undefined && issue.expected === JSON.stringify(String(last))
  ) {
    return `${where}expected a value (the key is required), received undefined`;
  }
  // custom() checks carry their expectation in the message; actions like integer() only in their type.
  const expected = issue.type === "custom" || issue.type === "check"
    ? issue.message
    : issue.expected ?? issue.type.replaceAll("_", " ");
  // length checks report bare numbers; say that they are lengths.
  const of = /_length$|^length$/.test(issue.type) ? "length " : "";
  return `${where}expected ${of}${expected}, received ${of}${cut(issue.received)}`;
}

/** All issues as problems, each prefixed with `prefix` (e.g. `plugin "http" (health): `). */
export function describeIssues(prefix: string, root: string, issues: readonly Issue[]): string[] {
  return issues.map((issue) => prefix + describeIssue(root, issue));
}
