/**
 * An HttpClient for @azure/core-rest-pipeline on the runtime's `fetch`. The pipeline's default client is
 * node:http, which in Deno 2.9.6 ignores `destroy()` on a reused keep-alive socket: a timed-out request keeps
 * running and may be sent again ~300 ms later, so "hung, nothing applied" becomes "applied after we gave up".
 * Here every request has one AbortController that the caller's signal and the request's timeout both fire;
 * aborting a fetch drops its connection, and nothing is ever sent twice by this client.
 */
import { Readable } from "node:stream";
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
  RestError,
} from "@azure/core-rest-pipeline";

/** The error codes a failed send carries (node's names, so retry strategies recognise them). */
export const NETWORK_CODES = {
  refused: "ECONNREFUSED",
  reset: "ECONNRESET",
  timeout: "ETIMEDOUT",
  notFound: "ENOTFOUND",
  other: "REQUEST_SEND_ERROR",
} as const;

/** Which network failure a fetch error describes; Deno puts the OS error in the message of `cause`. */
export function networkCodeOf(err: unknown): string {
  const text = [err, (err as { cause?: unknown })?.cause]
    .map((e) => (e instanceof Error ? e.message : String(e ?? "")))
    .join(" ");
  if (/connection refused/i.test(text)) return NETWORK_CODES.refused;
  if (/connection reset|connection closed|broken pipe|unexpected eof/i.test(text)) return NETWORK_CODES.reset;
  if (/dns error|failed to lookup|name or service not known|no such host/i.test(text)) {
    return NETWORK_CODES.notFound;
  }
  return NETWORK_CODES.other;
}

function abortError(message: string): Error {
  const e = new Error(message);
  e.name = "AbortError";
  return e;
}

type FetchBody = NonNullable<RequestInit["body"]>;

/** The pipeline's body shapes as a fetch body; streams are sent half-duplex. */
async function bodyOf(request: PipelineRequest): Promise<{ body?: FetchBody; stream: boolean }> {
  if (request.multipartBody) {
    throw new RestError(
      "multipart bodies need the pipeline's multipartPolicy, which this client does not add",
      {
        code: NETWORK_CODES.other,
        request,
      },
    );
  }
  let body: unknown = request.body;
  if (typeof body === "function") body = await (body as () => unknown)();
  if (body === undefined || body === null) return { stream: false };
  if (body instanceof Readable) {
    return { body: Readable.toWeb(body) as ReadableStream<Uint8Array>, stream: true };
  }
  if (body instanceof ReadableStream) return { body, stream: true };
  return { body: body as FetchBody, stream: false };
}

function wantsStream(request: PipelineRequest, status: number): boolean {
  const codes = request.streamResponseStatusCodes;
  return codes !== undefined && (codes.has(Number.POSITIVE_INFINITY) || codes.has(status));
}

export class FetchHttpClient implements HttpClient {
  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const outer = request.abortSignal as AbortSignal | undefined;
    if (outer?.aborted) throw abortError("The operation was aborted before the request was sent.");
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = () => controller.abort();
    outer?.addEventListener("abort", onAbort, { once: true });
    const timer = request.timeout > 0
      ? setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, request.timeout)
      : undefined;
    let streaming = false;
    try {
      const { body, stream } = await bodyOf(request);
      const headers = new Headers();
      for (const [name, value] of request.headers) headers.set(name, value);
      const init: RequestInit & { duplex?: "half" } = {
        method: request.method,
        headers,
        body,
        signal: controller.signal,
        // ARM's redirects are not followed silently: the bearer token must not travel to another host.
        redirect: "manual",
        ...(stream ? { duplex: "half" as const } : {}),
      };
      const res = await fetch(request.url, init);
      const response: PipelineResponse = {
        request,
        status: res.status,
        headers: createHttpHeaders(Object.fromEntries(res.headers)),
      };
      if (wantsStream(request, res.status) && res.body) {
        streaming = true;
        if (request.enableBrowserStreams) response.browserStreamBody = res.body;
        else {
          response.readableStreamBody = Readable.fromWeb(
            res.body as import("node:stream/web").ReadableStream<Uint8Array>,
          );
        }
      } else {
        // The timeout bounds the whole exchange, the body included: a server that stalls mid-body is no answer.
        response.bodyAsText = await res.text();
      }
      return response;
    } catch (err) {
      if (err instanceof RestError) throw err;
      if (timedOut) {
        throw new RestError(`no answer within ${request.timeout}ms`, {
          code: NETWORK_CODES.timeout,
          request,
        });
      }
      if (outer?.aborted) throw abortError("The operation was aborted.");
      const detail = (err as { cause?: unknown })?.cause instanceof Error
        ? ((err as { cause: Error }).cause.message)
        : err instanceof Error
        ? err.message
        : String(err);
      throw new RestError(detail, { code: networkCodeOf(err), request });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      // A streamed body stays abortable by the caller's signal until the caller is done with it.
      if (!streaming) outer?.removeEventListener("abort", onAbort);
    }
  }
}
