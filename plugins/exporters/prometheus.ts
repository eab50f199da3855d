/** `prometheus`: the metrics registry in the Prometheus text format at `/metrics` (the default exporter). */
import * as v from "valibot";
import { defineExporter } from "../../mod.ts";

export const prometheusExporter = defineExporter({
  name: "prometheus",
  version: "1.0.0",
  description:
    "Serves every zen_lead_* metric in the Prometheus text exposition format on the metrics address.",
  options: v.optional(
    v.strictObject({
      /** Where the metrics address serves them; `/metrics` unless changed. */
      path: v.optional(v.pipe(v.string(), v.startsWith("/")), "/metrics"),
    }),
    {},
  ),
  setup: (ctx) => ({
    path: ctx.options.path,
    contentType: "text/plain; version=0.0.4; charset=utf-8",
    render: () => ctx.metrics.render(),
  }),
});

export default prometheusExporter;
