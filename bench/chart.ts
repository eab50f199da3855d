/**
 * SVG charts written by hand (no dependencies): the cumulative distribution of latencies on a log time axis,
 * and a memory-over-time line chart for the churn run.
 */

export interface Series {
  label: string;
  color: string;
  values: readonly number[];
}

const W = 760;
const H = 420;
const PAD = { left: 64, right: 20, top: 44, bottom: 56 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    ...body,
    "</svg>",
  ].join("\n");
}

/** Round tick values on a log axis: 1, 2, 5 per decade between lo and hi. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let d = Math.floor(Math.log10(lo)); d <= Math.ceil(Math.log10(hi)); d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/** CDF of each series (fraction of samples at or below x ms), x on a log scale. */
export function latencyCdfSvg(title: string, series: readonly Series[]): string {
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 0.1;
  const hi = all.length ? 10 ** Math.ceil(Math.log10(Math.max(...all))) : 1000;
  const x = (v: number) =>
    PAD.left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / Math.log10(hi / lo)) * PLOT_W;
  const y = (f: number) => PAD.top + (1 - f) * PLOT_H;
  const body: string[] = [];
  for (const t of logTicks(lo, hi)) {
    body.push(`<line x1="${x(t)}" y1="${PAD.top}" x2="${x(t)}" y2="${PAD.top + PLOT_H}" stroke="#e4e4e4"/>`);
    body.push(`<text x="${x(t)}" y="${PAD.top + PLOT_H + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const f of [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
    body.push(
      `<line x1="${PAD.left}" y1="${y(f)}" x2="${PAD.left + PLOT_W}" y2="${y(f)}" stroke="#e4e4e4"/>`,
    );
    body.push(`<text x="${PAD.left - 6}" y="${y(f) + 4}" text-anchor="end">${f}</text>`);
  }
  body.push(
    `<text x="${PAD.left + PLOT_W / 2}" y="${H - 14}" text-anchor="middle">milliseconds (log scale)</text>`,
    `<text transform="translate(16 ${PAD.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">` +
      `fraction of samples</text>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#888"/>`,
  );
  series.forEach((s, i) => {
    const sorted = [...s.values].sort((a, b) => a - b);
    if (sorted.length) {
      const pts = sorted.map((v, k) => `${x(v).toFixed(1)},${y((k + 1) / sorted.length).toFixed(1)}`);
      body.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" ` +
          `points="${x(sorted[0]).toFixed(1)},${y(0)} ${pts.join(" ")}"/>`,
      );
    }
    const ly = PAD.top + 16 + i * 16;
    body.push(
      `<line x1="${PAD.left + 10}" y1="${ly - 4}" x2="${PAD.left + 30}" y2="${ly - 4}" stroke="${s.color}" ` +
        `stroke-width="3"/>`,
      `<text x="${PAD.left + 36}" y="${ly}">${esc(s.label)} (n=${sorted.length})</text>`,
    );
  });
  return frame(title, body);
}

/** Lines of values over time (x in minutes). */
export function timeSeriesSvg(
  title: string,
  yLabel: string,
  series: readonly { label: string; color: string; points: readonly { t: number; v: number }[] }[],
): string {
  const ts = series.flatMap((s) => s.points.map((p) => p.t));
  const vs = series.flatMap((s) => s.points.map((p) => p.v));
  const tMax = Math.max(1, ...ts);
  const vMax = Math.max(1, ...vs) * 1.1;
  const x = (t: number) => PAD.left + (t / tMax) * PLOT_W;
  const y = (v: number) => PAD.top + (1 - v / vMax) * PLOT_H;
  const body: string[] = [];
  for (let k = 0; k <= 5; k++) {
    const v = (vMax * k) / 5;
    const t = (tMax * k) / 5;
    body.push(
      `<line x1="${PAD.left}" y1="${y(v)}" x2="${PAD.left + PLOT_W}" y2="${y(v)}" stroke="#e4e4e4"/>`,
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`,
      `<text x="${x(t)}" y="${PAD.top + PLOT_H + 16}" text-anchor="middle">${t.toFixed(1)}</text>`,
    );
  }
  body.push(
    `<text x="${PAD.left + PLOT_W / 2}" y="${H - 14}" text-anchor="middle">minutes</text>`,
    `<text transform="translate(16 ${PAD.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">` +
      `${esc(yLabel)}</text>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#888"/>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    body.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"/>`);
    const ly = PAD.top + 16 + i * 16;
    body.push(
      `<line x1="${PAD.left + 10}" y1="${ly - 4}" x2="${PAD.left + 30}" y2="${ly - 4}" stroke="${s.color}" ` +
        `stroke-width="3"/>`,
      `<text x="${PAD.left + 36}" y="${ly}">${esc(s.label)}</text>`,
    );
  });
  return frame(title, body);
}
