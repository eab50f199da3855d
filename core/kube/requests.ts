/** The typed resource operations as plain KubeRequests: what each verb sends (path, query, body, content type). */
import { resourcePath, type ResourceType } from "./paths.ts";
import type { KubeObject } from "./types.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  /** A low-cardinality name for metrics and errors, e.g. "apply_endpointslices". */
  operation: string;
  method: HttpMethod;
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Overrides the client's retry count (0 = no retries, e.g. for Lease renewals that have their own loop). */
  maxRetries?: number;
  /** Defaults to every method except POST. */
  idempotent?: boolean;
  /** Runs before every attempt, retries included; a throw ends the call (e.g. "this replica no longer leads"). */
  beforeAttempt?: () => void;
}

export interface CallOptions {
  operation?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxRetries?: number;
  /** See KubeRequest.beforeAttempt. */
  beforeAttempt?: () => void;
}

export interface WriteOptions extends CallOptions {
  subresource?: string;
}

export interface ListOptions {
  /** Empty or absent: all namespaces (namespaced resources). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "Exact" | "NotOlderThan";
}

export interface DeleteOptions extends CallOptions {
  /** Delete only if the object still has this UID / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
}

export function getRequest(res: ResourceType, namespace: string, name: string, o?: CallOptions): KubeRequest {
  return {
    ...callFields(o),
    operation: o?.operation ?? `get_${res.plural}`,
    method: "GET",
    path: resourcePath(res, namespace, name),
  };
}

export function listRequest(res: ResourceType, l: ListOptions = {}, o?: CallOptions): KubeRequest {
  return {
    ...callFields(o),
    operation: o?.operation ?? `list_${res.plural}`,
    method: "GET",
    path: resourcePath(res, l.namespace),
    query: {
      labelSelector: l.labelSelector,
      fieldSelector: l.fieldSelector,
      limit: l.limit,
      continue: l.continue,
      resourceVersion: l.resourceVersion,
      resourceVersionMatch: l.resourceVersionMatch,
    },
  };
}

export function createRequest(res: ResourceType, obj: KubeObject, o?: WriteOptions): KubeRequest {
  return {
    ...callFields(o),
    operation: o?.operation ?? `create_${res.plural}`,
    method: "POST",
    path: resourcePath(res, obj.metadata.namespace),
    body: obj,
  };
}

/** PUT: with `metadata.resourceVersion` set, fails with a conflict when the object changed meanwhile. */
export function replaceRequest(res: ResourceType, obj: KubeObject, o?: WriteOptions): KubeRequest {
  return {
    ...callFields(o),
    operation: o?.operation ?? operationName("replace", res, o?.subresource),
    method: "PUT",
    path: resourcePath(res, obj.metadata.namespace, requireName(res, obj), o?.subresource),
    body: obj,
  };
}

/** JSON merge patch (RFC 7386): `null` deletes a field; lists are replaced whole. */
export function mergePatchRequest(
  res: ResourceType,
  namespace: string,
  name: string,
  patch: unknown,
  o?: WriteOptions,
): KubeRequest {
  return {
    ...callFields(o),
    operation: o?.operation ?? operationName("patch", res, o?.subresource),
    method: "PATCH",
    path: resourcePath(res, namespace, name, o?.subresource),
    body: patch,
    contentType: "application/merge-patch+json",
  };
}

export function deleteRequest(
  res: ResourceType,
  namespace: string,
  name: string,
  o?: DeleteOptions,
): KubeRequest {
  const hasBody = o?.preconditions || o?.propagationPolicy;
  return {
    ...callFields(o),
    operation: o?.operation ?? `delete_${res.plural}`,
    method: "DELETE",
    path: resourcePath(res, namespace, name),
    body: hasBody
      ? {
        kind: "DeleteOptions",
        apiVersion: "v1",
        preconditions: o?.preconditions,
        propagationPolicy: o?.propagationPolicy,
      }
      : undefined,
  };
}

/** `?a=1&b=x` of the defined, non-empty values; "" when there are none. */
export function queryString(query?: Query): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}

function callFields(
  o?: CallOptions,
): Pick<KubeRequest, "signal" | "timeoutMs" | "maxRetries" | "beforeAttempt"> {
  return {
    signal: o?.signal,
    timeoutMs: o?.timeoutMs,
    maxRetries: o?.maxRetries,
    beforeAttempt: o?.beforeAttempt,
  };
}

function operationName(verb: string, res: ResourceType, subresource?: string): string {
  return subresource ? `${verb}_${res.plural}_${subresource}` : `${verb}_${res.plural}`;
}

function requireName(res: ResourceType, obj: KubeObject): string {
  const name = obj.metadata.name;
  if (!name) throw new Error(`${res.kind}: metadata.name is required for this call, received none`);
  return name;
}
