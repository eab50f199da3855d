/** ClusterCredentials from a @kubernetes/client-node KubeConfig (tests, and legacy auth providers). */
import type { KubeConfig } from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import type { RequestOptions } from "node:https";
import type { ClusterCredentials } from "./kubeconfig.ts";

function headersOf(opts: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === "string") headers[k] = v;
  if (opts.auth && !headers.Authorization) {
    headers.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
  }
  return headers;
}

export async function credentialsFromKubeConfig(kc: KubeConfig): Promise<ClusterCredentials> {
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new Error(
      `kubeconfig: expected a current context with a cluster server URL, received context "${kc.getCurrentContext()}" without one`,
    );
  }
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  return {
    server: new URL(cluster.server),
    tls: {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      pfx: tls.pfx,
      passphrase: tls.passphrase,
      servername: tls.servername,
      rejectUnauthorized: tls.rejectUnauthorized,
    },
    authHeaders: async () => {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      return headersOf(opts);
    },
    describe: `kubeconfig context ${kc.getCurrentContext()}`,
  };
}
