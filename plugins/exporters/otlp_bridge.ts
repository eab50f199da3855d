/**
 * The project's metrics registry as OTLP data (cumulative temporality, the names and HELP texts as they are):
 * counters become monotonic sums, gauges gauges, histograms explicit-bucket histograms. The Prometheus
 * exposition is not touched; both exporters read the same registry.
 */
import { type HrTime, ValueType } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { Family } from "../../mod.ts";

function hrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}

/** Per-bucket counts (OTLP) from cumulative `le` counts (Prometheus): one more bucket than boundaries (+Inf). */
export function bucketCounts(cumulative: readonly number[], total: number): number[] {
  const out = cumulative.map((c, i) => c - (i === 0 ? 0 : cumulative[i - 1]));
  out.push(total - (cumulative.at(-1) ?? 0));
  return out;
}

export function toResourceMetrics(
  families: readonly Family[],
  resource: Record<string, string>,
  startMs: number,
  nowMs: number,
): ResourceMetrics {
  const startTime = hrTime(startMs);
  const endTime = hrTime(nowMs);
  const metrics: MetricData[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    const descriptor = {
      name: f.name,
      description: f.help,
      unit: unitOf(f.name),
      valueType: ValueType.DOUBLE,
    };
    if (f.type === "histogram") {
      metrics.push({
        descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: f.samples.map((s) => ({
          startTime,
          endTime,
          attributes: s.labels,
          value: {
            buckets: {
              boundaries: [...(f.buckets ?? [])],
              counts: bucketCounts(s.counts ?? [], s.count ?? 0),
            },
            sum: s.sum ?? 0,
            count: s.count ?? 0,
          },
        })),
      });
    } else {
      const dataPoints = f.samples.map((s) => ({
        startTime,
        endTime,
        attributes: s.labels,
        value: s.value ?? 0,
      }));
      metrics.push(
        f.type === "counter"
          ? {
            descriptor,
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints,
          }
          : {
            descriptor,
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints,
          },
      );
    }
  }
  return {
    resource: resourceFromAttributes(resource),
    scopeMetrics: [{ scope: { name: "zen-lead", version: "0.1.0" }, metrics }],
  };
}

/** UCUM unit from the Prometheus name suffix (`_seconds` → `s`, `_bytes` → `By`). */
function unitOf(name: string): string {
  if (/_seconds(_total)?$/.test(name)) return "s";
  if (/_bytes(_total)?$/.test(name)) return "By";
  return "";
}
