/** Starts the OpenTelemetry trace SDK when tracing is configured; otherwise the API stays the no-op it is. */
import { context, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "../log.ts";
import type { TracingConfig } from "./config.ts";
import { AsyncContextManager } from "./context.ts";
import { FetchSpanExporter } from "./exporter.ts";
import { KeepNotableProcessor, KeepNotableSampler } from "./sampler.ts";
import { tracingState } from "./spans.ts";

export interface TracingHandle {
  /** Exports what is buffered (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let installed: TracingHandle | undefined;

/** Installs the SDK globally once per process; a second call returns the first handle. */
export function startTracing(config: TracingConfig, log: Logger): TracingHandle {
  if (installed) return installed;
  let lastErrorLog = 0;
  const exporter = new FetchSpanExporter(config, (error) => {
    // One line a minute at most: an unreachable collector must not flood the log.
    if (Date.now() - lastErrorLog < 60_000) return;
    lastErrorLog = Date.now();
    log.warn("trace export failed", { url: config.url, error });
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(config.resource),
    sampler: new KeepNotableSampler(config.sampler),
    spanProcessors: [
      new KeepNotableProcessor(
        new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000, maxQueueSize: 4096 }),
      ),
    ],
  });
  context.setGlobalContextManager(new AsyncContextManager());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  tracingState.on = true;
  log.info("tracing on", {
    url: config.url,
    protocol: config.protocol,
    sampler: `${config.sampler.parentBased ? "parentbased_" : ""}${config.sampler.kind}`,
    ratio: config.sampler.ratio,
    service: config.resource["service.name"],
  });
  installed = {
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return installed;
}
