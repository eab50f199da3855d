/**
 * HTTP to the API server over Deno's `fetch` with one `Deno.HttpClient` (CA, client certificate; HTTP/1.1 only).
 * An `AbortSignal` ends a request at once on every connection, new or reused: in Deno 2.9.6 `node:http`'s
 * `destroy()` is ignored on a reused keep-alive socket, so a timeout there bounded nothing. Credentials (TLS
 * material and auth headers) come from core/kube/kubeconfig.ts; requests, streaming and timeouts are ours.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { ClusterCredentials } from "./kubeconfig.ts";
import { credentialsFromKubeConfig } from "./kubeconfig_client_node.ts";
import { nodeTlsOnly, openWithNodeHttp } from "./transport_node.ts";

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
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
}

export interface StreamResponse {
  status: number;
  headers: Record<string, string>;
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
    /** Undefined when the TLS options need node:https (see transport_node.ts). */
    private readonly client: Deno.HttpClient | undefined,
  ) {}

  /** A transport for a client-node KubeConfig's current context (tests use it). */
  static async fromKubeConfig(kc: KubeConfig): Promise<HttpTransport> {
    return HttpTransport.fromCredentials(await credentialsFromKubeConfig(kc));
  }

  /** A transport for loaded credentials (core/kube/kubeconfig.ts); throws on a server URL that is not http(s). */
  static async fromCredentials(credentials: ClusterCredentials): Promise<HttpTransport> {
    const server = credentials.server;
    if (server.protocol !== "https:" && server.protocol !== "http:") {
      throw new Error(`kubeconfig: cluster server must be an http(s) URL, received "${server.href}"`);
    }
    const tls = credentials.tls;
    const client = server.protocol === "https:" && nodeTlsOnly(tls) ? undefined : Deno.createHttpClient({
      ...(tls.ca ? { caCerts: [tls.ca].flat().map(String) } : {}),
      ...(tls.cert && tls.key ? { cert: String(tls.cert), key: String(tls.key) } : {}),
      // One stream per connection: a stalled connection then stalls one request, which its timeout ends.
      http2: false,
    });
    const transport = new HttpTransport(server, credentials, client);
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
    return { status: res.status, headers: res.headers, body: new TextDecoder().decode(concat(chunks)) };
  }

  /** Sends a request and resolves when the response headers arrive; the body streams until it ends or aborts. */
  async open(req: RawRequest): Promise<StreamResponse> {
    const headers: Record<string, string> = { ...(await this.headers()), ...req.headers };
    const url = this.server.origin + this.basePath() + req.path;
    if (!this.client) return await openWithNodeHttp(url, req, headers, this.credentials.tls);
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        body: req.body,
        signal: req.signal,
        client: this.client,
      });
    } catch (e) {
      throw req.signal.aborted ? req.signal.reason : e;
    }
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => out[k] = v);
    return { status: res.status, headers: out, body: bodyOf(res, req.signal) };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.client?.close();
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

/** The response body as chunks; a consumer that stops early cancels it (the connection is not left half-read). */
async function* bodyOf(res: Response, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } catch (e) {
    throw signal.aborted ? signal.reason : e;
  } finally {
    reader.cancel().catch(() => {});
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
