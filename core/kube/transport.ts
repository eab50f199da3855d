/**
 * HTTP to the API server over node:http(s) with one keep-alive agent. Credentials (TLS material and auth
 * headers) come from core/kube/kubeconfig.ts; requests, streaming and timeouts are ours.
 */
import { Buffer } from "node:buffer";
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import type { ClusterCredentials } from "./kubeconfig.ts";
import { credentialsFromKubeConfig } from "./kubeconfig_client_node.ts";

export interface RawRequest {
  method: string;
  /** Path with query string. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface StreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: AsyncIterable<Uint8Array>;
}

// Auth headers are re-read this often so rotated service-account tokens and exec credentials are picked up.
const AUTH_REFRESH_MS = 60_000;

export class HttpTransport {
  private authHeaders: Record<string, string> = {};
  private authLoadedAt = -Infinity;

  private constructor(
    readonly server: URL,
    private readonly credentials: ClusterCredentials,
    private readonly agent: http.Agent,
    private readonly secure: boolean,
  ) {}

  /** A transport for a client-node KubeConfig's current context (tests use it). */
  static async fromKubeConfig(kc: KubeConfig): Promise<HttpTransport> {
    return HttpTransport.fromCredentials(await credentialsFromKubeConfig(kc));
  }

  /** A transport for loaded credentials (core/kube/kubeconfig.ts); throws on a server URL that is not http(s). */
  static async fromCredentials(credentials: ClusterCredentials): Promise<HttpTransport> {
    const server = credentials.server;
    const secure = server.protocol === "https:";
    if (!secure && server.protocol !== "http:") {
      throw new Error(`kubeconfig: cluster server must be an http(s) URL, received "${server.href}"`);
    }
    const agent = secure
      ? new https.Agent({ keepAlive: true, keepAliveMsecs: 30_000, ...credentials.tls })
      : new http.Agent({ keepAlive: true });
    const transport = new HttpTransport(server, credentials, agent, secure);
    await transport.headers();
    return transport;
  }

  /** Forces the next request to re-read credentials (after a 401). */
  invalidateAuth(): void {
    this.authLoadedAt = -Infinity;
  }

  async send(req: RawRequest): Promise<RawResponse> {
    const res = await this.open(req);
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of res.body) chunks.push(chunk);
    } catch (e) {
      throw req.signal.aborted ? req.signal.reason : e;
    }
    return { status: res.status, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") };
  }

  /** Sends a request and resolves when the response headers arrive; the body streams until it ends or aborts. */
  async open(req: RawRequest): Promise<StreamResponse> {
    const headers: Record<string, string> = { ...(await this.headers()), ...req.headers };
    // An explicit length: a chunked DELETE body left the keep-alive connection unusable for the next request.
    if (req.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(req.body));
    return await new Promise<StreamResponse>((resolve, reject) => {
      const { signal } = req;
      if (signal.aborted) return reject(signal.reason);
      const options: https.RequestOptions = {
        protocol: this.server.protocol,
        hostname: this.server.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: this.server.port || (this.secure ? 443 : 80),
        path: this.basePath() + req.path,
        method: req.method,
        headers,
        agent: this.agent,
      };
      const request = (this.secure ? https : http).request(options, (res) => {
        res.on("error", () => {}); // surfaced through the async iterator
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      const onAbort = () =>
        request.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
      request.on("error", (e) => reject(signal.aborted ? signal.reason : e));
      request.on("close", () => signal.removeEventListener("abort", onAbort));
      request.end(req.body);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private basePath(): string {
    return this.server.pathname.replace(/\/+$/, "");
  }

  private async headers(): Promise<Record<string, string>> {
    if (Date.now() - this.authLoadedAt > AUTH_REFRESH_MS) {
      this.authHeaders = await this.credentials.authHeaders();
      this.authLoadedAt = Date.now();
    }
    return this.authHeaders;
  }
}
