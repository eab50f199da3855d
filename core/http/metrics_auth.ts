/**
 * `--metrics-secure`: every request to the metrics address (/metrics, /debug/*, /status) must carry a bearer
 * token that the API server authenticates (TokenReview) and authorizes for `get` on the request's non-resource
 * URL (SubjectAccessReview), as controller-runtime's WithAuthenticationAndAuthorization filter does. No token or
 * a token the API server rejects: 401; a token without the permission: 403. Answers are cached for 10 s.
 */
import type { MiddlewareHandler } from "hono";
import type { KubeClient } from "../kube/client.ts";
import type { Logger } from "../log.ts";

interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

type Verdict = { status: 200 } | { status: 401 | 403; why: string };

const CACHE_MS = 10_000;
const MAX_CACHED = 1_000;

async function sha256(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The URL a SubjectAccessReview names: the path, and for /debug/<x> also matched by a `/debug/*` rule. */
export function nonResourcePath(pathname: string): string {
  return pathname === "" ? "/" : pathname;
}

export function metricsAuth(client: KubeClient, log: Logger): MiddlewareHandler {
  const cache = new Map<string, { at: number; verdict: Verdict }>();

  const review = async (token: string, path: string, verb: string): Promise<Verdict> => {
    const tr = await client.request<
      { status?: { authenticated?: boolean; user?: UserInfo; error?: string } }
    >({
      operation: "create_tokenreviews",
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      idempotent: true,
    });
    if (!tr.status?.authenticated || !tr.status.user) {
      return {
        status: 401,
        why: tr.status?.error ? `token not authenticated: ${tr.status.error}` : "token not authenticated",
      };
    }
    const u = tr.status.user;
    const sar = await client.request<{ status?: { allowed?: boolean; reason?: string } }>({
      operation: "create_subjectaccessreviews",
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: u.username,
          uid: u.uid,
          groups: u.groups,
          extra: u.extra,
          nonResourceAttributes: { path, verb },
        },
      },
      idempotent: true,
    });
    if (!sar.status?.allowed) {
      return {
        status: 403,
        why: `${u.username} may not ${verb} ${path}${sar.status?.reason ? `: ${sar.status.reason}` : ""}`,
      };
    }
    return { status: 200 };
  };

  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      return c.text("Unauthorized: a bearer token (Authorization: Bearer <token>) is required\n", 401, {
        "www-authenticate": 'Bearer realm="zen-lead metrics"',
      });
    }
    const path = nonResourcePath(new URL(c.req.url).pathname);
    const verb = c.req.method === "HEAD" ? "get" : c.req.method.toLowerCase();
    const key = `${await sha256(m[1])} ${verb} ${path}`;
    const now = Date.now();
    let hit = cache.get(key);
    if (!hit || now - hit.at > CACHE_MS) {
      let verdict: Verdict;
      try {
        verdict = await review(m[1], path, verb);
      } catch (error) {
        // The API server did not answer: refuse, uncached, rather than serve without a decision.
        log.warn("metrics authorization failed", { path, error });
        return c.text("Service Unavailable: the API server could not review the token\n", 503);
      }
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      hit = { at: now, verdict };
      cache.set(key, hit);
    }
    if (hit.verdict.status !== 200) {
      log.debug("metrics request refused", { path, status: hit.verdict.status, why: hit.verdict.why });
      return c.text(
        `${hit.verdict.status === 401 ? "Unauthorized" : "Forbidden"}: ${hit.verdict.why}\n`,
        hit.verdict.status,
      );
    }
    await next();
  };
}
