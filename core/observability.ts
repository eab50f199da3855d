/**
 * The controller's observability wiring at start: tracing from OTEL_* / the ConfigMap (the SDK imported only
 * when it is on), and the --metrics-secure listener (TLS material, TokenReview + SubjectAccessReview).
 */
import { Hono } from "hono";
import { FlagError } from "./config/flags.ts";
import type { KubeClient } from "./kube/client.ts";
import type { Logger } from "./log.ts";
import { metricsAuth } from "./http/metrics_auth.ts";
import { selfSignedCert } from "./http/self_signed.ts";
import type { TlsPair } from "./http/servers.ts";
import { tracingChoice, TracingConfigError, type TracingSection } from "./tracing/config.ts";
import type { TracingHandle } from "./tracing/setup.ts";

/** The metrics routes behind TokenReview + SubjectAccessReview (--metrics-secure). */
export function securedApp(routes: Hono, client: KubeClient, log: Logger): Hono {
  const app = new Hono();
  app.use("*", metricsAuth(client, log.child({ component: "metrics-auth" })));
  app.route("/", routes);
  return app;
}

/** tls.crt / tls.key from `dir`, or a self-signed certificate for this pod's names. */
export async function metricsTls(dir: string, identity: string): Promise<TlsPair> {
  if (dir) {
    try {
      return {
        cert: await Deno.readTextFile(`${dir.replace(/\/+$/, "")}/tls.crt`),
        key: await Deno.readTextFile(`${dir.replace(/\/+$/, "")}/tls.key`),
      };
    } catch (e) {
      throw new FlagError(
        `flag --metrics-cert-dir: expected tls.crt and tls.key in ${dir} (readable by the process), ${
          (e as Error).message
        }`,
      );
    }
  }
  return await selfSignedCert(["localhost", "127.0.0.1", "::1", identity]);
}

/** Tracing from the OTEL_* variables: off (the API's no-op) unless an OTLP endpoint is set. */
export async function startTracingFrom(
  env: Record<string, string | undefined>,
  log: Logger,
  section?: TracingSection,
): Promise<TracingHandle | undefined> {
  try {
    const choice = tracingChoice(env, section);
    if (!choice.enabled) {
      log.debug("tracing off", { why: choice.why });
      return undefined;
    }
    // The SDK is loaded only when tracing is on: off costs neither its memory nor its start time.
    const { startTracing } = await import("./tracing/setup.ts");
    return startTracing(choice.config, log);
  } catch (e) {
    if (e instanceof TracingConfigError) throw new FlagError(e.message);
    throw e;
  }
}
