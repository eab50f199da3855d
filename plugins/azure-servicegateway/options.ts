/** The plugin's options (ConfigMap `plugins.azure-servicegateway.options`), validated with valibot. */
import * as v from "valibot";

const nonEmpty = (what: string) =>
  v.pipe(v.string(`${what}: expected a string`), v.minLength(1, `${what}: expected a non-empty string`));
const ms = (what: string, min: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.number(`${what}: expected milliseconds`),
      v.integer(),
      v.minValue(min, `${what}: at least ${min}`),
    ),
    fallback,
  );

const credential = v.variant("type", [
  v.object({
    type: v.literal("clientSecret"),
    tenantId: nonEmpty("credential.tenantId"),
    clientId: nonEmpty("credential.clientId"),
    clientSecret: nonEmpty("credential.clientSecret"),
    authorityHost: v.optional(v.pipe(v.string(), v.url("credential.authorityHost: expected a URL"))),
  }),
  v.object({ type: v.literal("managedIdentity"), clientId: v.optional(nonEmpty("credential.clientId")) }),
  // Only for the local ARM emulator and tests: a fixed bearer token.
  v.object({ type: v.literal("staticToken"), token: nonEmpty("credential.token") }),
], "credential.type: expected clientSecret, managedIdentity or staticToken");

export const optionsSchema = v.object({
  subscriptionId: nonEmpty("subscriptionId"),
  resourceGroup: nonEmpty("resourceGroup"),
  serviceGatewayName: nonEmpty("serviceGatewayName"),
  virtualNetworkName: nonEmpty("virtualNetworkName"),
  location: nonEmpty("location"),
  apiVersion: v.optional(nonEmpty("apiVersion"), "2025-05-01"),
  armEndpoint: v.optional(
    v.pipe(v.string(), v.url("armEndpoint: expected a URL")),
    "https://management.azure.com",
  ),
  credential,
  createGateway: v.optional(v.boolean("createGateway: expected true or false"), false),
  servicePrefix: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[a-z][a-z0-9-]{0,15}$/, "servicePrefix: expected a lowercase prefix of ≤ 16 chars"),
    ),
    "zl-",
  ),
  maxConcurrentOperations: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(50)), 10),
  timeouts: v.optional(
    v.object({
      requestMs: ms("timeouts.requestMs", 1, 30_000),
      lroMs: ms("timeouts.lroMs", 1, 600_000),
      pollIntervalMs: ms("timeouts.pollIntervalMs", 0, 2_000),
      operationMs: ms("timeouts.operationMs", 1, 900_000),
      locationsMs: ms("timeouts.locationsMs", 1, 300_000),
      drainMs: ms("timeouts.drainMs", 0, 10_000),
      orphanGraceMs: ms("timeouts.orphanGraceMs", 0, 60_000),
      /** Period of the reconciliation with the gateway; 0 turns the periodic run off. */
      reconcileMs: ms("timeouts.reconcileMs", 0, 300_000),
      /** How soon after a write with an unknown outcome (no answer, 5xx) the gateway is reconciled. */
      reconcileAfterFailureMs: ms("timeouts.reconcileAfterFailureMs", 0, 5_000),
    }),
    {},
  ),
  retry: v.optional(
    v.object({
      maxRetries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10)), 3),
      retryDelayMs: ms("retry.retryDelayMs", 0, 800),
      maxRetryDelayMs: ms("retry.maxRetryDelayMs", 0, 10_000),
      maxThrottleWaitMs: ms("retry.maxThrottleWaitMs", 0, 60_000),
      throttleAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10)), 3),
    }),
    {},
  ),
  backoff: v.optional(
    v.object({
      baseMs: ms("backoff.baseMs", 0, 1_000),
      maxMs: ms("backoff.maxMs", 0, 30_000),
      jitter: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.2),
      parkAfterAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 12),
      parkMs: ms("backoff.parkMs", 0, 300_000),
    }),
    {},
  ),
  egress: v.optional(
    v.object({
      enabled: v.optional(v.boolean(), true),
      /** The pod label whose value names the egress (outbound service) a pod uses. */
      podLabel: v.optional(nonEmpty("egress.podLabel"), "zen-lead.io/egress"),
    }),
    {},
  ),
});

export type AzureServiceGatewayOptions = v.InferOutput<typeof optionsSchema>;
