/**
 * A small metrics registry with Prometheus semantics. Registering a name twice returns the metric already
 * registered (the predecessor panicked at start on duplicate registration); a clash of type or labels is an error
 * that names both.
 */

/** Label values of one series, by label name (e.g. `{ service: "default/web" }`). */
export type Labels = Record<string, string>;
/** The Prometheus metric types the registry has. */
export type MetricType = "counter" | "gauge" | "histogram";

/** What names a metric: registering the same options twice returns the same metric. */
export interface MetricOptions {
  /** The metric's name, e.g. `zen_lead_myplugin_requests_total`. */
  name: string;
  /** The `# HELP` text: what one unit of the metric means. */
  help: string;
  /** The label names every series has; a series given another label is an error. */
  labelNames?: readonly string[];
}

/** A histogram's options: a metric's plus its bucket bounds. */
export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, ascending (default: `SECONDS_BUCKETS`). */
  buckets?: readonly number[];
}

/** Seconds: from 1 ms to 60 s, fine-grained under 1 s where failover lives. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
];

function labelKey(labelNames: readonly string[], labels: Labels | undefined): string {
  if (labelNames.length === 0) return "";
  return labelNames.map((n) => labels?.[n] ?? "").join("\u0000");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function renderLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i])}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return Number.isNaN(n) ? "NaN" : String(n);
}

/** What every metric has: a name, help text, label names and its series as text and as data. */
export abstract class Metric {
  /** The metric's Prometheus type. */
  abstract readonly type: MetricType;
  /** Makes an empty metric; use the registry's `counter`, `gauge` or `histogram` instead. */
  constructor(
    /** The metric's name. */
    readonly name: string,
    /** The `# HELP` text. */
    readonly help: string,
    /** The label names of every series. */
    readonly labelNames: readonly string[],
  ) {}
  /** Throws, naming the valid labels, when `labels` has a label this metric does not. */
  protected checkLabels(labels: Labels | undefined): void {
    if (!labels) return;
    for (const k of Object.keys(labels)) {
      if (!this.labelNames.includes(k)) {
        throw new Error(
          `metric ${this.name}: unknown label "${k}"; its labels are [${this.labelNames.join(", ")}]`,
        );
      }
    }
  }
  /** The series' lines in the Prometheus text format (no `# HELP`/`# TYPE` lines). */
  abstract render(): string[];
  /** Every series as data (the OTLP bridge reads this; `render` is the Prometheus text of the same). */
  abstract samples(): Sample[];
}

/** One series of a counter or gauge (`value`) or a histogram (cumulative `counts` per bucket, `sum`, `count`). */
export interface Sample {
  /** The series' labels. */
  labels: Labels;
  /** A counter's or gauge's value. */
  value?: number;
  /** A histogram's cumulative count per bucket, in bucket order. */
  counts?: readonly number[];
  /** A histogram's sum of observed values. */
  sum?: number;
  /** A histogram's number of observations. */
  count?: number;
}

/** A metric family as data: what `MetricsRegistry.collect` returns. */
export interface Family {
  /** The metric's name. */
  name: string;
  /** The `# HELP` text. */
  help: string;
  /** The metric's type. */
  type: MetricType;
  /** A histogram's bucket bounds. */
  buckets?: readonly number[];
  /** Every series of the metric. */
  samples: Sample[];
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const out: Labels = {};
  names.forEach((n, i) => out[n] = values[i]);
  return out;
}

/** A counter's or gauge's series as data. */
function valueSamples(
  names: readonly string[],
  values: Map<string, { labels: string[]; value: number }>,
): Sample[] {
  return [...values.values()].map((v) => ({ labels: labelsOf(names, v.labels), value: v.value }));
}

/** A value that only goes up (requests, errors), one per label set. */
export class Counter extends Metric {
  /** Always `"counter"`. */
  readonly type = "counter";
  private readonly values = new Map<string, { labels: string[]; value: number }>();
  /** Adds `by` (default 1, never negative) to the series of `labels`. */
  inc(labels?: Labels, by = 1): void {
    this.checkLabels(labels);
    if (by < 0) throw new Error(`counter ${this.name}: cannot decrease (by ${by})`);
    const key = labelKey(this.labelNames, labels);
    const cur = this.values.get(key);
    if (cur) cur.value += by;
    else this.values.set(key, { labels: this.labelNames.map((n) => labels?.[n] ?? ""), value: by });
  }
  /** The value of the series of `labels`; 0 when it has none yet. */
  get(labels?: Labels): number {
    return this.values.get(labelKey(this.labelNames, labels))?.value ?? 0;
  }
  /** Every series as data. */
  samples(): Sample[] {
    return valueSamples(this.labelNames, this.values);
  }
  /** The series' lines in the Prometheus text format. */
  render(): string[] {
    return [...this.values.values()].map((v) =>
      `${this.name}${renderLabels(this.labelNames, v.labels)} ${formatNumber(v.value)}`
    );
  }
}

/** A value that goes up and down (queue depth, leaders), one per label set. */
export class Gauge extends Metric {
  /** Always `"gauge"`. */
  readonly type = "gauge";
  private readonly values = new Map<string, { labels: string[]; value: number }>();
  /** Sets the series of `labels` to `value`. */
  set(labels: Labels | undefined, value: number): void {
    this.checkLabels(labels);
    const key = labelKey(this.labelNames, labels);
    const cur = this.values.get(key);
    if (cur) cur.value = value;
    else this.values.set(key, { labels: this.labelNames.map((n) => labels?.[n] ?? ""), value });
  }
  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels?: Labels, by = 1): void {
    this.set(labels, this.get(labels) + by);
  }
  /** Subtracts `by` (default 1) from the series of `labels`. */
  dec(labels?: Labels, by = 1): void {
    this.set(labels, this.get(labels) - by);
  }
  /** The value of the series of `labels`; 0 when it has none yet. */
  get(labels?: Labels): number {
    return this.values.get(labelKey(this.labelNames, labels))?.value ?? 0;
  }
  /** Every series as data. */
  samples(): Sample[] {
    return valueSamples(this.labelNames, this.values);
  }
  /** Drops one series, e.g. when the Service it describes is gone. */
  remove(labels?: Labels): void {
    this.values.delete(labelKey(this.labelNames, labels));
  }
  /** The series' lines in the Prometheus text format. */
  render(): string[] {
    return [...this.values.values()].map((v) =>
      `${this.name}${renderLabels(this.labelNames, v.labels)} ${formatNumber(v.value)}`
    );
  }
}

interface HistogramSeries {
  labels: string[];
  counts: number[];
  sum: number;
  count: number;
}

/** Observed values (latencies, sizes) counted into buckets, one series per label set. */
export class Histogram extends Metric {
  /** Always `"histogram"`. */
  readonly type = "histogram";
  private readonly series = new Map<string, HistogramSeries>();
  /** Makes an empty histogram; use the registry's `histogram` instead. */
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    /** Upper bounds of the buckets, ascending. */
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  /** Counts `value` into the series of `labels`. */
  observe(labels: Labels | undefined, value: number): void {
    this.checkLabels(labels);
    const key = labelKey(this.labelNames, labels);
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: this.labelNames.map((n) => labels?.[n] ?? ""),
        counts: this.buckets.map(() => 0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  /** Count and sum of one series, for tests and debug endpoints. */
  snapshot(labels?: Labels): { count: number; sum: number } {
    const s = this.series.get(labelKey(this.labelNames, labels));
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 };
  }
  /** Every series as data. */
  samples(): Sample[] {
    return [...this.series.values()].map((s) => ({
      labels: labelsOf(this.labelNames, s.labels),
      counts: [...s.counts],
      sum: s.sum,
      count: s.count,
    }));
  }
  /** The series' lines in the Prometheus text format (`_bucket`, `_sum`, `_count`). */
  render(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) =>
        out.push(
          `${this.name}_bucket${renderLabels(this.labelNames, s.labels, ["le", formatNumber(b)])} ${
            s.counts[i]
          }`,
        )
      );
      out.push(`${this.name}_bucket${renderLabels(this.labelNames, s.labels, ["le", "+Inf"])} ${s.count}`);
      out.push(`${this.name}_sum${renderLabels(this.labelNames, s.labels)} ${formatNumber(s.sum)}`);
      out.push(`${this.name}_count${renderLabels(this.labelNames, s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** Every metric of the process, rendered together for `/metrics` and read by the OTLP exporter. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  /** Adds `m`, or returns the metric already registered under its name if its type and labels match. */
  private register<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (!existing) {
      this.metrics.set(m.name, m);
      return m;
    }
    const sameLabels = existing.labelNames.join(",") === m.labelNames.join(",");
    if (existing.type !== m.type || !sameLabels) {
      throw new Error(
        `metric ${m.name} is already registered as ${existing.type}{${existing.labelNames.join(",")}}, ` +
          `cannot register it as ${m.type}{${m.labelNames.join(",")}}`,
      );
    }
    return existing as M;
  }

  /** The counter named `o.name`, registered now or before. */
  counter(o: MetricOptions): Counter {
    return this.register(new Counter(o.name, o.help, o.labelNames ?? []));
  }
  /** The gauge named `o.name`, registered now or before. */
  gauge(o: MetricOptions): Gauge {
    return this.register(new Gauge(o.name, o.help, o.labelNames ?? []));
  }
  /** The histogram named `o.name`, registered now or before. */
  histogram(o: HistogramOptions): Histogram {
    return this.register(new Histogram(o.name, o.help, o.labelNames ?? [], o.buckets ?? SECONDS_BUCKETS));
  }

  /** Every metric family with its series, sorted by name. */
  collect(): Family[] {
    return [...this.metrics.values()].sort((a, b) => a.name.localeCompare(b.name)).map((m) => ({
      name: m.name,
      help: m.help,
      type: m.type,
      buckets: m instanceof Histogram ? m.buckets : undefined,
      samples: m.samples(),
    }));
  }

  /** The registry in the Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const m of [...this.metrics.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      lines.push(`# HELP ${m.name} ${m.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      lines.push(`# TYPE ${m.name} ${m.type}`);
      lines.push(...m.render());
    }
    return lines.join("\n") + "\n";
  }
}
