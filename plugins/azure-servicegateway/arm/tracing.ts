/**
 * A span per ARM request attempt (HTTP client semantic conventions, resend count on retries), with the W3C
 * `traceparent` of that span sent to ARM. Innermost policy, so each retry and throttled re-send is its own span.
 */
import type { PipelinePolicy, PipelineRequest } from "@azure/core-rest-pipeline";
import { httpClientSpan } from "../../../mod.ts";

export function armTracingPolicy(): PipelinePolicy {
  const sent = new WeakMap<PipelineRequest, number>();
  return {
    name: "zenLeadArmTracing",
    async sendRequest(request, next) {
      const resendCount = sent.get(request) ?? 0;
      sent.set(request, resendCount + 1);
      const span = httpClientSpan(
        request.method,
        () => new URL(request.url),
        { "cloud.provider": "azure" },
        resendCount,
      );
      for (const [k, v] of Object.entries(span.headers)) request.headers.set(k, v);
      try {
        const response = await next(request);
        span.end(response.status);
        return response;
      } catch (e) {
        span.end(undefined, e);
        throw e;
      }
    },
  };
}
