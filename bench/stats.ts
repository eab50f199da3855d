/** Summaries of latency samples and memory series: plain functions of plain numbers. */

export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

/** Rounds to `digits` decimals (JSON and tables show measured figures, not float noise). */
export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** R^2 of the least-squares line through the points: near 0, the slope is noise; near 1, a real trend. */
export function rSquared(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 3) return NaN;
  const b = slope(points);
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let ssRes = 0;
  let ssTot = 0;
  for (const p of points) {
    ssRes += (p.y - (my + b * (p.x - mx))) ** 2;
    ssTot += (p.y - my) ** 2;
  }
  return ssTot === 0 ? 0 : 1 - ssRes / ssTot;
}

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The lowest value in each window of `windowMs`: the V8 heap saw-tooths between collections, and its floors
 * follow the live set, which is what "does memory grow" asks about.
 */
export function windowMinima(
  series: readonly { t: number; v: number }[],
  windowMs: number,
): { x: number; y: number }[] {
  const byWindow = new Map<number, { x: number; y: number }>();
  for (const s of series) {
    const w = Math.floor(s.t / windowMs);
    const cur = byWindow.get(w);
    if (!cur || s.v < cur.y) byWindow.set(w, { x: s.t, y: s.v });
  }
  return [...byWindow.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

/**
 * The values right after each drop of more than `dropFraction` from the previous sample: for a V8 heap, the
 * lows after its major collections, which track the live set better than any fixed window.
 */
export function collectionLows(
  series: readonly { t: number; v: number }[],
  dropFraction = 0.1,
): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let i = 1; i < series.length; i++) {
    if (series[i].v < series[i - 1].v * (1 - dropFraction)) out.push({ x: series[i].t, y: series[i].v });
  }
  return out;
}
