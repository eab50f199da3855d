/**
 * The fallback for TLS options `Deno.createHttpClient` cannot express (insecure-skip-tls-verify, tls-server-name,
 * PKCS#12): node:https with a fresh connection per request, because only there does `destroy()` end a request
 * (in Deno 2.9.6 it is ignored on a reused keep-alive socket, so a timeout would bound nothing).
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AgentOptions } from "node:https";
import type { RawRequest, StreamResponse } from "./transport.ts";

/** Whether these TLS options need node:https. */
export function nodeTlsOnly(tls: AgentOptions): boolean {
  return tls.rejectUnauthorized === false || tls.servername !== undefined || tls.pfx !== undefined;
}

export function openWithNodeHttp(
  url: string,
  req: RawRequest,
  headers: Record<string, string>,
  tls: AgentOptions,
): Promise<StreamResponse> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const sent = { ...headers };
  // An explicit length: a chunked DELETE body left the connection unusable for the next request.
  if (req.body !== undefined) sent["Content-Length"] = String(new TextEncoder().encode(req.body).length);
  return new Promise<StreamResponse>((resolve, reject) => {
    const { signal } = req;
    if (signal.aborted) return reject(signal.reason);
    const options: https.RequestOptions = {
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: target.port || (secure ? 443 : 80),
      path: target.pathname + target.search,
      method: req.method,
      headers: sent,
      agent: false,
      ...(secure ? tls : {}),
    };
    const request = (secure ? https : http).request(options, (res) => {
      res.on("error", () => {}); // surfaced through the async iterator
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = [v].flat()[0];
      resolve({ status: res.statusCode ?? 0, headers: out, body: res });
    });
    const onAbort = () =>
      request.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    request.on("error", (e) => reject(signal.aborted ? signal.reason : e));
    request.on("close", () => signal.removeEventListener("abort", onAbort));
    request.end(req.body);
  });
}
