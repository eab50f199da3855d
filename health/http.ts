/**
 * `http`: GET a path on the pod IP and judge the status code (default 200-399). `https` does not verify the
 * certificate, like the kubelet's httpGet probes: pods serve self-signed certificates for their own IP, and the
 * probe asks "does the application answer", not "who is it". Redirects are not followed (3xx is a status).
 * The check is bounded by the kernel's timeout through the abort signal.
 *
 * Spec: `{ scheme?: "http" | "https", port: number | "<container port name>", path?: "/healthz",
 * expectedStatus?: 200 | "200-399", headers?: { "X-Probe": "zen-lead" } }`; short form `http:8080/healthz`.
 */
import http from "node:http";
import https from "node:https";
import * as v from "valibot";
import { defineHealthChecker, type HealthChecker, type HealthResult, type PodView } from "../mod.ts";
import { hostPort, probePortSchema, resolveProbePort, shortPort } from "./_port.ts";
import { abortReason } from "./_abort.ts";
import { netErrorReason } from "./_net_error.ts";

const statusCode = v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599));

/** `204`, `"204"` or `"200-399"` to an inclusive range. */
const statusRangeSchema = v.pipe(
  v.union([
    v.pipe(statusCode, v.transform((n) => `${n}`)),
    v.pipe(v.string(), v.regex(/^\d{3}(-\d{3})?$/, 'Expected a status code or a range like "200-399"')),
  ]),
  v.transform((s) => {
    const [min, max = min] = s.split("-").map(Number);
    return { min, max };
  }),
  v.check(
    ({ min, max }) => min >= 100 && max <= 599 && min <= max,
    "Expected a status range within 100-599 with min <= max",
  ),
);

// Header names are HTTP tokens; values must not smuggle extra header lines.
const headersSchema = v.record(
  v.pipe(v.string(), v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "Expected an HTTP header name")),
  v.pipe(v.string(), v.regex(/^[^\r\n]*$/, "Expected a header value without line breaks")),
);

export const httpSpecSchema = v.strictObject({
  scheme: v.optional(v.picklist(["http", "https"]), "http"),
  port: probePortSchema,
  path: v.optional(
    v.pipe(v.string(), v.regex(/^\/\S*$/, 'Expected a path starting with "/", no spaces')),
    "/",
  ),
  expectedStatus: v.optional(statusRangeSchema, "200-399"),
  headers: v.optional(headersSchema, {}),
});

export type HttpCheckSpec = v.InferOutput<typeof httpSpecSchema>;

/** `8080/healthz`, `web/healthz` or `8080` to `{ port, path }`. */
function parseShort(text: string): unknown {
  const slash = text.indexOf("/");
  const port = slash < 0 ? text : text.slice(0, slash);
  if (port === "") throw new Error(`expected "<port>[/path]" after "http:", e.g. "http:8080/healthz"`);
  return slash < 0 ? { port: shortPort(port) } : { port: shortPort(port), path: text.slice(slash) };
}

async function check(pod: PodView, spec: HttpCheckSpec, signal: AbortSignal): Promise<HealthResult> {
  const port = resolveProbePort(pod, spec.port);
  if (!port.ok) return { healthy: false, reason: port.reason };
  const target = `${spec.scheme}://${hostPort(pod.ip, port.port)}${spec.path}`;
  if (signal.aborted) return { healthy: false, reason: abortReason(signal) };
  try {
    const status = await getStatus(pod.ip, port.port, spec, signal);
    const { min, max } = spec.expectedStatus;
    const healthy = status >= min && status <= max;
    return { healthy, reason: healthy ? `HTTP ${status}` : `HTTP ${status} (expected ${min}-${max})` };
  } catch (e) {
    return { healthy: false, reason: signal.aborted ? abortReason(signal) : netErrorReason(e, target) };
  }
}

/** One GET on a fresh connection; resolves with the status line's code and drops the body unread. */
function getStatus(ip: string, port: number, spec: HttpCheckSpec, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const options = {
      host: ip,
      port,
      path: spec.path,
      method: "GET",
      headers: { "user-agent": "zen-lead-probe", accept: "*/*", ...spec.headers },
      // A fresh connection per probe: pooled sockets would outlive the pod they point at.
      agent: false as const,
    };
    const req = spec.scheme === "https"
      ? https.request({ ...options, rejectUnauthorized: false }, onResponse)
      : http.request(options, onResponse);
    const onAbort = () => req.destroy(new Error(abortReason(signal)));
    signal.addEventListener("abort", onAbort, { once: true });
    function onResponse(res: http.IncomingMessage) {
      signal.removeEventListener("abort", onAbort);
      resolve(res.statusCode ?? 0);
      // The status is the verdict; a body that streams forever must not hold the socket.
      res.destroy();
    }
    req.on("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
    req.end();
  });
}

export const httpChecker: HealthChecker<HttpCheckSpec> = {
  specSchema: httpSpecSchema,
  parseShort,
  check,
};

export const httpHealthChecker = defineHealthChecker({
  name: "http",
  version: "1.0.0",
  description:
    "HTTP(S) GET on the pod IP; healthy when the status is in the expected range (default 200-399).",
  setup: () => httpChecker,
});
