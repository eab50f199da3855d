/** Credentials for ARM: @azure/identity's classes, or a fixed token for the emulator. */
import type { AccessToken, TokenCredential } from "@azure/identity";
import { ClientSecretCredential, ManagedIdentityCredential } from "@azure/identity";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";

export type CredentialSettings =
  | { type: "clientSecret"; tenantId: string; clientId: string; clientSecret: string; authorityHost?: string }
  | { type: "managedIdentity"; clientId?: string }
  | { type: "staticToken"; token: string };

/** A bearer token that never changes: for the local ARM emulator and tests only. */
export class StaticTokenCredential implements TokenCredential {
  constructor(private readonly token: string) {}
  getToken(): Promise<AccessToken> {
    return Promise.resolve({ token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 });
  }
}

export function credentialFrom(settings: CredentialSettings): TokenCredential {
  switch (settings.type) {
    case "clientSecret":
      return new ClientSecretCredential(
        settings.tenantId,
        settings.clientId,
        settings.clientSecret,
        settings.authorityHost ? { authorityHost: settings.authorityHost } : {},
      );
    case "managedIdentity":
      return settings.clientId
        ? new ManagedIdentityCredential(settings.clientId)
        : new ManagedIdentityCredential();
    case "staticToken":
      return new StaticTokenCredential(settings.token);
  }
}

/**
 * Adds `Authorization: Bearer`, caching the token until five minutes before it expires. (core-rest-pipeline's
 * own bearer policy refuses plain http, which the loopback emulator needs.)
 */
export function bearerPolicy(credential: TokenCredential, scope: string, now: () => number): PipelinePolicy {
  let cached: AccessToken | null = null;
  return {
    name: "zenLeadBearer",
    async sendRequest(request, next) {
      if (!cached || cached.expiresOnTimestamp - 300_000 <= now()) {
        cached = await credential.getToken(scope, { abortSignal: request.abortSignal });
        if (!cached) throw new Error(`credential returned no token for scope ${scope}`);
      }
      request.headers.set("authorization", `Bearer ${cached.token}`);
      return next(request);
    },
  };
}
