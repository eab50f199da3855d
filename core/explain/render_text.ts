/** The human form of an Explanation: sections of aligned columns, one line per setting and per candidate. */
import type { CandidateExplanation, Explanation } from "./model.ts";

/** "3d4h", "5m12s", "800ms": an age for a table cell. */
export function age(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  const units: [number, string][] = [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];
  const parts: string[] = [];
  let rest = s;
  for (const [size, u] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${u}`);
      rest %= size;
    } else if (parts.length > 0) break;
  }
  return parts.join("");
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  return rows.map((r) =>
    indent + r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd()
  );
}

const show = (v: unknown) => typeof v === "string" ? v : v === null ? "none" : JSON.stringify(v);

function nodeText(c: CandidateExplanation): string {
  if (!c.node) return "-";
  const state = c.node.ready === true ? "Ready" : c.node.ready === false ? "NotReady" : c.node.ready;
  return `${c.node.name} (${state}${c.node.unschedulable ? ", unschedulable" : ""})`;
}

function readyText(c: CandidateExplanation): string {
  if (c.terminating) return "terminating";
  if (!c.ready) return "False";
  return c.readySince ? `True since ${c.readySince}` : "True";
}

function healthText(c: CandidateExplanation): string {
  return c.health.state + (c.health.reason ? ` (${c.health.reason})` : "");
}

export function renderText(e: Explanation): string {
  const out: string[] = [];
  const svc = `${e.service.namespace}/${e.service.name}`;
  out.push(
    `Service ${svc} (${e.service.optedIn ? "opted in" : "not opted in"}) -> leader Service ` +
      `${e.service.namespace}/${e.leaderService}`,
  );
  out.push(`Configuration: ${e.configuration}`);
  out.push(`Evaluated at ${e.generatedAt}`);
  out.push("", "Settings");
  out.push(...table([
    ["SETTING", "VALUE", "SOURCE"],
    ...Object.entries(e.settings).map(([k, s]) => [
      k,
      show(s.value),
      s.source + (s.invalidAnnotation !== undefined ? ` (annotation "${s.invalidAnnotation}" refused)` : ""),
    ]),
  ]));
  const selector = Object.entries(e.service.selector).map(([k, v]) => `${k}=${v}`).join(",") || "none";
  out.push("", `Candidates (${e.candidates.length} pods match ${selector})`);
  if (e.candidates.length > 0) {
    out.push(...table([
      ["POD", "PHASE", "READY", "IP", "NODE", "MIN-READY", "PRIORITY", "HEALTH", "RANK", "VERDICT"],
      ...e.candidates.map((c) => [
        c.pod,
        c.phase,
        readyText(c),
        c.ip ?? "-",
        nodeText(c),
        c.minReady ? (c.minReady.qualified ? "met" : `at ${c.minReady.qualifiesAt}`) : "-",
        c.priority.error ? "invalid (0)" : String(c.priority.value),
        healthText(c),
        c.rank === undefined ? "-" : String(c.rank),
        c.verdict,
      ]),
    ]));
  }
  out.push("", "Leader");
  const now = e.currentLeaders.join(", ") || "none";
  const next = e.decision.leaders.length === 0
    ? "none (endpoints: [])"
    : e.decision.routes.length < e.decision.leaders.length
    ? `${e.decision.leaders.join(", ")}, routing to ${
      e.decision.routes.join(", ") || "nobody (a port cannot be resolved: fail-closed)"
    }`
    : e.decision.leaders.join(", ");
  const keep = e.currentLeaders.length === 0
    ? "no leader routes yet"
    : e.decision.keepsCurrent
    ? "the controller keeps the current leader"
    : `the controller would move the leader${e.decision.reason ? ` (reason: ${e.decision.reason})` : ""}`;
  out.push(...table([
    ["routed now:", now],
    ["decision:", `${next}; ${keep}`],
    ...(e.decision.requeueAt ? [["decides again:", `${e.decision.requeueAt} (a pod qualifies)`]] : []),
  ]));
  out.push("", "Ports");
  out.push(
    ...(e.ports.length === 0 ? ["  none"] : table(e.ports.map((p) => [
      p.name ?? "(unnamed)",
      String(p.port),
      p.error
        ? `-> unresolved: ${p.error}`
        : p.targetPort !== undefined
        ? `-> ${p.targetPort}`
        : "-> (no leader)",
    ]))),
  );
  out.push("", `Health: ${e.healthSource.message}`);
  out.push("", e.warnings.length === 0 ? "Warnings: none" : "Warnings");
  for (const w of e.warnings) out.push(`  - ${w.kind}: ${w.message}`);
  return out.join("\n") + "\n";
}
