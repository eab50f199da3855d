/** Built-in plugins that are neither strategies nor health checkers: metrics exporters and cloud backends. */
import { prometheusExporter } from "./exporters/prometheus.ts";
import { otlpExporter } from "./exporters/otlp.ts";
import azureServiceGateway from "./azure-servicegateway/mod.ts";

export { otlpExporter, prometheusExporter };

export const builtinExporters = [prometheusExporter, otlpExporter] as const;

/** Exporters and cloud backends, registered by the kernel like any user's plugin. */
export const builtinPlugins = [...builtinExporters, azureServiceGateway] as const;
