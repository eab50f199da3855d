/**
 * The status page's HTML, rendered on the server with Hono's `html` template: every interpolated value is
 * escaped (cluster values included), so the page is safe and complete without JavaScript. The small script
 * (/app.js) only swaps in fresh fragments that the server rendered the same way.
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { CandidateExplanation, Explanation } from "../../explain/model.ts";
import { age } from "../../explain/render_text.ts";
import type { LeaderChange, ProbeReport } from "../model.ts";
import { latencyChart } from "./chart.ts";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface ServiceView {
  key: string;
  explanation: Explanation;
  changes: readonly LeaderChange[];
  probes: readonly ProbeReport[];
  /** RFC 3339 from the leader Service's zen-lead.io/leader-last-switch-time. */
  leaderSince?: string;
}

export interface PageMeta {
  identity: string;
  active: boolean;
  configuration: string;
  now: number;
}

/** The id of a Service's section; namespace and name are DNS labels, so ":" and "/" cannot collide. */
export const sectionId = (key: string) => `svc:${key}`;

const ago = (iso: string | undefined, now: number) => iso ? `${age(now - Date.parse(iso))} ago` : "-";

function badge(kind: "ok" | "warn" | "bad", text: string) {
  return html`<span class="badge ${kind}">${text}</span>`;
}

function lastFailover(changes: readonly LeaderChange[]) {
  return changes.filter((c) => c.failover).at(-1);
}

export function summaryRows(views: readonly ServiceView[], now: number): Html {
  if (views.length === 0) {
    return html`
      <tr>
        <td colspan="6">No opted-in Services.</td>
      </tr>
    `;
  }
  return html`${
    views.map((v) => {
      const e = v.explanation;
      const f = lastFailover(v.changes);
      const problems = e.warnings.length + (e.currentLeaders.length === 0 ? 1 : 0);
      return html`
        <tr>
          <th scope="row"><a href="#${sectionId(v.key)}">${v.key}</a></th>
          <td>${e.currentLeaders.join(", ") || badge("bad", "none")}</td>
          <td>${v.leaderSince ? age(now - Date.parse(v.leaderSince)) : "-"}</td>
          <td>${f ? `${f.reason}, ${ago(f.at, now)}` : "none"}</td>
          <td>${f?.latencyMs !== undefined ? `${f.latencyMs.toFixed(1)} ms` : "-"}</td>
          <td>${problems === 0 ? badge("ok", "none") : badge("warn", `${problems}`)}</td>
        </tr>
      `;
    })
  }`;
}

function healthCell(c: CandidateExplanation) {
  const s = c.health.state;
  if (s === "not checked") return html`<span class="muted">readiness only</span>`;
  const kind = s === "healthy" ? "ok" : s === "unhealthy" ? "bad" : "warn";
  return html`${badge(kind, s)}${
    c.health.reason
      ? html`
        <span class="muted">${c.health.reason}</span>
      `
      : ""
  }`;
}

function candidateRows(e: Explanation, now: number) {
  return e.candidates.map((c) =>
    html`
      <tr class="${c.wouldLead ? "leader" : ""}">
        <th scope="row">${c.pod}</th>
        <td>${c.terminating ? "terminating" : c.phase}</td>
        <td>${c.ready && c.readySince
          ? html`Ready for <time datetime="${c.readySince}">${age(now - Date.parse(c.readySince))}</time>`
          : c.ready
          ? "Ready"
          : "not Ready"}</td>
        <td>${c.ip ?? "-"}</td>
        <td>${c.node
          ? `${c.node.name} (${
            c.node.ready === true ? "Ready" : c.node.ready === false ? "NotReady" : c.node.ready
          })`
          : "-"}</td>
        <td>${c.minReady
          ? (c.minReady.qualified ? "met" : `qualifies at ${c.minReady.qualifiesAt}`)
          : "-"}</td>
        <td>${c.priority.error ? badge("warn", "invalid") : String(c.priority.value)}</td>
        <td>${healthCell(c)}</td>
        <td>${c.rank ?? "-"}</td>
        <td>${c.verdict}</td>
      </tr>
    `
  );
}

function changeRows(changes: readonly LeaderChange[], now: number) {
  if (changes.length === 0) {
    return html`
      <tr>
        <td colspan="5">No leader change seen by this replica yet.</td>
      </tr>
    `;
  }
  return html`${
    [...changes].reverse().slice(0, 5).map((c) =>
      html`
        <tr>
          <td><time datetime="${c.at}">${c.at}</time> <span class="muted">(${ago(c.at, now)})</span></td>
          <td>${c.from ?? "-"} &rarr; ${c.to ?? "none"}</td>
          <td>${c.failover ? badge("bad", c.reason) : c.reason}</td>
          <td>${c.latencyMs !== undefined ? `${c.latencyMs.toFixed(1)} ms` : "-"}</td>
        </tr>
      `
    )
  }`;
}

export function servicePanel(v: ServiceView, now: number): Html {
  const e = v.explanation;
  const id = sectionId(v.key);
  const hid = `${id}:h`;
  const settings = Object.entries(e.settings).map(([k, s]) =>
    html`
      <tr>
        <th scope="row">${k}</th>
        <td><code>${typeof s.value === "string" ? s.value : JSON.stringify(s.value)}</code></td>
        <td>${s.source}${s.invalidAnnotation !== undefined
          ? html`
            ${badge("warn", "refused")} <code>${s.invalidAnnotation}</code>
          `
          : ""}</td>
      </tr>
    `
  );
  const decision = e.currentLeaders.length === 0
    ? "no pod routes yet"
    : e.decision.keepsCurrent
    ? "the controller keeps the current leader"
    : `the controller moves the leader (${e.decision.reason ?? "pending"})`;
  return html`<section id="${id}" class="service" aria-labelledby="${hid}" data-leader="${
    e.currentLeaders[0] ?? ""
  }">
<h2 id="${hid}">${v.key}</h2>
<dl class="facts">
<div><dt>Leader</dt><dd class="leader-name">${e.currentLeaders.join(", ") || "none"}</dd></div>
<div><dt>Leading for</dt><dd>${v.leaderSince ? age(now - Date.parse(v.leaderSince)) : "-"}</dd></div>
<div><dt>Decision</dt><dd>${e.decision.leaders.join(", ") || "none"}: ${decision}</dd></div>
<div><dt>Leader Service</dt><dd>${e.service.namespace}/${e.leaderService}</dd></div>
<div><dt>Health</dt><dd>${e.healthSource.message}</dd></div>
</dl>
${
    e.warnings.length > 0
      ? html`
        <div class="warnings" role="note">
          <h3>Warnings</h3>
          <ul>${e.warnings.map((w) => html`<li><strong>${w.kind}</strong>: ${w.message}</li>`)}</ul>
        </div>
      `
      : ""
  }
<h3>Recent leader changes</h3>
<div class="history">
${latencyChart(v.changes, `${id}:chart`)}
<table>
<caption class="sr-only">Recent leader changes of ${v.key}, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">From &rarr; to</th><th scope="col">Reason</th><th scope="col">Latency</th></tr></thead>
<tbody>${changeRows(v.changes, now)}</tbody>
</table>
</div>
<table>
<caption>Why this leader: the candidates of ${v.key} (${e.candidates.length} pods), as explain sees them</caption>
<thead><tr><th scope="col">Pod</th><th scope="col">Phase</th><th scope="col">Ready</th><th scope="col">IP</th><th scope="col">Node</th><th scope="col">Min-ready</th><th scope="col">Priority</th><th scope="col">Health</th><th scope="col">Rank</th><th scope="col">Verdict</th></tr></thead>
<tbody>${candidateRows(e, now)}</tbody>
</table>
<details>
<summary>Effective settings and where they came from</summary>
<table>
<caption class="sr-only">Effective settings of ${v.key}</caption>
<thead><tr><th scope="col">Setting</th><th scope="col">Value</th><th scope="col">Source</th></tr></thead>
<tbody>${settings}</tbody>
</table>
</details>
</section>`;
}

export function page(views: readonly ServiceView[], meta: PageMeta): Html {
  return html`
    <!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>zen-lead status</title>
        <link rel="stylesheet" href="/style.css">
        <script src="/app.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#services">Skip to the Services</a>
        <header>
          <h1>zen-lead status</h1>
          <p>Replica <strong>${meta.identity}</strong> (${meta.active ? "active" : "standby"}) &middot; ${meta
            .configuration}
    &middot; rendered <time datetime="${new Date(meta.now).toISOString()}">${new Date(meta.now)
      .toISOString()}</time></p>
          <p id="live" class="muted" role="status"
            aria-live="polite">Live updates need JavaScript; reload for fresh data.</p>
        </header>
        <main id="services" tabindex="-1">
          <table class="summary">
            <caption>Opted-in Services</caption>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Leader</th>
                <th scope="col">Leading for</th>
                <th scope="col">Last failover</th>
                <th scope="col">Latency</th>
                <th scope="col">Problems</th>
              </tr>
            </thead>
            <tbody id="summary">${summaryRows(views, meta.now)}</tbody>
          </table>
          <div id="panels">${views.map((v) => servicePanel(v, meta.now))}</div>
        </main>
      </body>
    </html>
  `;
}
