/**
 * The failover latency chart: inline SVG bars, one per recent leader change that has a latency, with an
 * accessible name that says what the chart shows in words (screen readers get the figures, not the pixels).
 */
import { html } from "hono/html";
import type { LeaderChange } from "../model.ts";

const W = 560;
const H = 140;
const PAD = { left: 48, right: 8, top: 10, bottom: 22 };

/** A round axis maximum at or above `v`: 1, 2, 5, 10, 20, 50, ... */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function latencyChart(changes: readonly LeaderChange[], id: string) {
  const points = changes.filter((c) => c.latencyMs !== undefined).slice(-30);
  if (points.length === 0) {
    return html`<p class="muted">No leader change with a measured latency yet.</p>`;
  }
  const values = points.map((c) => c.latencyMs!);
  const max = niceMax(Math.max(...values));
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / points.length;
  const bw = Math.max(2, Math.min(24, slot * 0.7));
  const summary = `Latency of the last ${points.length} leader changes: median ${median.toFixed(1)} ms, ` +
    `highest ${Math.max(...values).toFixed(1)} ms.`;
  const bars = points.map((c, i) => {
    const h = Math.max(1, (c.latencyMs! / max) * plotH);
    const x = PAD.left + i * slot + (slot - bw) / 2;
    const y = PAD.top + plotH - h;
    return html`
      <rect class="${c.failover ? "bar failover" : "bar"}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw
        .toFixed(1)}" height="${h.toFixed(1)}">
        <title>${c.at}: ${c.reason}, ${c.latencyMs!.toFixed(1)} ms</title>
      </rect>
    `;
  });
  return html`
    <figure class="chart">
      <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}"
        height="${H}" role="img" aria-labelledby="${id}-t">
    <title id="${id}-t">${summary}</title>
    <line class="axis" x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${W - PAD.right}" y2="${PAD.top +
      plotH}"/>
    <line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}"/>
    <text class="label" x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${max} ms</text>
    <text class="label" x="${PAD.left - 6}" y="${PAD.top + plotH}" text-anchor="end">0</text>
    <text class="label" x="${PAD.left}" y="${H - 6}">older</text>
    <text class="label" x="${W - PAD.right}" y="${H - 6}" text-anchor="end">latest</text>
    ${bars}
      </svg>
      <figcaption>${summary} Dark bars are failovers; light bars are other leader changes.</figcaption>
    </figure>
  `;
}
