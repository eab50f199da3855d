/**
 * The status page's stylesheet and script, served as files (/style.css, /app.js) so the Content-Security-Policy
 * allows no inline script or style at all. Kept here as text so a compiled binary carries them.
 */

/** Live updates over server-sent events; the page is complete without it. */
export const APP_JS =
  `// zen-lead status page: swaps in fragments the server rendered (and escaped) when something changes.
"use strict";
(() => {
  const live = document.getElementById("live");
  const say = (text) => { if (live) live.textContent = text; };
  const events = new EventSource("/events");
  events.addEventListener("open", () => say("Live: changes appear here as they happen."));
  events.addEventListener("error", () => say("Live updates interrupted; reconnecting..."));
  const fragment = (markup) => {
    const t = document.createElement("template");
    t.innerHTML = markup;
    return t.content;
  };
  events.addEventListener("summary", (e) => {
    const body = document.getElementById("summary");
    if (body) body.replaceChildren(fragment(JSON.parse(e.data).html));
  });
  events.addEventListener("service", (e) => {
    const d = JSON.parse(e.data);
    const old = document.getElementById(d.id);
    const next = fragment(d.html).firstElementChild;
    if (!next) {
      if (old) old.remove();
      return;
    }
    if (old) {
      // An open "why" section stays open across updates.
      const was = old.querySelector("details");
      const now = next.querySelector("details");
      if (was && now && was.open) now.open = true;
      old.replaceWith(next);
    } else {
      const panels = document.getElementById("panels");
      if (panels) panels.append(next);
    }
    if (d.announce) say(d.announce);
  });
})();
`;

export const STYLE_CSS =
  `:root { color-scheme: light; --fg: #1a1a1a; --muted: #4d4d4d; --line: #c8c8c8; --accent: #0b4fb3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
header, main { padding: 0 24px; }
header { border-bottom: 1px solid var(--line); background: #f4f6f9; padding-top: 4px; padding-bottom: 4px; }
h1 { font-size: 22px; margin: 10px 0 4px; }
h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
p { margin: 4px 0; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 0; background: #fff; padding: 8px 12px; }
.skip:focus { left: 8px; top: 8px; z-index: 10; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.muted { color: var(--muted); }
table { border-collapse: collapse; margin: 6px 0 10px; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: #eef1f5; font-weight: 600; }
tr.leader th, tr.leader td { background: #eaf2ff; }
.summary { margin-top: 12px; }
.service { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; }
.facts div { min-width: 160px; }
dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
dd { margin: 0; font-weight: 600; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 13px; font-weight: 600; }
.badge.ok { color: #0a5424; background: #dff3e5; }
.badge.warn { color: #5e3d00; background: #ffefc9; }
.badge.bad { color: #7f1010; background: #fde3e3; }
.warnings { border-left: 4px solid #a86b00; background: #fff8e6; padding: 4px 12px; margin: 10px 0; }
.warnings ul { margin: 4px 0; padding-left: 18px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
details { margin-top: 8px; }
summary { cursor: pointer; font-weight: 600; padding: 4px 0; }
.history { display: grid; grid-template-columns: minmax(0, 560px) minmax(0, 1fr); gap: 8px 20px; align-items: start; }
@media (max-width: 900px) { .history { grid-template-columns: minmax(0, 1fr); } }
.chart { margin: 4px 0; }
.chart svg { max-width: 100%; height: auto; background: #fafbfc; border: 1px solid var(--line); }
.chart .axis { stroke: #6b6b6b; stroke-width: 1; }
.chart .label { font-size: 11px; fill: #3d3d3d; }
.chart .bar { fill: #8fb3e8; }
.chart .bar.failover { fill: #0b4fb3; }
figcaption { font-size: 13px; color: var(--muted); }
`;
