/**
 * The controller's two API clients, built from one set of options: `client` for watches and the writes that
 * route traffic, `eventsClient` for Events only.
 */
import type { Logger } from "../core/log.ts";
import type { MetricsRegistry } from "../core/metrics/registry.ts";
import { KubeClient } from "../core/kube/client.ts";
import { loadCredentials } from "../core/kube/kubeconfig.ts";
import type { ControllerSettings } from "../core/config/controller_settings.ts";

export interface ApiClients {
  client: KubeClient;
  eventsClient: KubeClient;
  /** Applies reloaded rate limits to both clients (the timeout only to `client`, as before). */
  reconfigure(settings: ControllerSettings): void;
  close(): void;
}

export async function connectClients(
  settings: ControllerSettings,
  metrics: MetricsRegistry,
  logger: Logger,
  log: Logger,
): Promise<ApiClients> {
  const credentials = await loadCredentials(settings.kubeconfig);
  log.info("connecting to the API server", {
    server: credentials.server.href,
    credentials: credentials.describe,
  });
  const options = {
    metrics,
    logger,
    qps: settings.qps,
    burst: settings.burst,
    timeoutMs: settings.apiTimeoutSeconds * 1000,
  };
  const client = await KubeClient.fromCredentials(credentials, options);
  // Events go through a token bucket (and a connection) of their own: a burst of them (a thousand Services
  // created at once) must not queue the EndpointSlice writes that route traffic behind it. API reachability is
  // reported by `client` alone.
  const eventsClient = await KubeClient.fromCredentials(credentials, {
    ...options,
    reportReachability: false,
  });
  return {
    client,
    eventsClient,
    reconfigure(s) {
      client.setRateLimit(s.qps, s.burst);
      eventsClient.setRateLimit(s.qps, s.burst);
      client.setTimeout(s.apiTimeoutSeconds * 1000);
    },
    close() {
      client.close();
      eventsClient.close();
    },
  };
}
