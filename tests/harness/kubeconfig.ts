// Writes self-contained kubeconfig files (credentials embedded) for the test cluster.
import { stringify } from "yaml";

export type KubeconfigUser =
  | { name: string; token: string }
  | { name: string; clientCertificatePem: string; clientKeyPem: string };

const b64 = (pem: string): string => btoa(pem);

/** Renders a kubeconfig with one cluster, one user and one current context. */
export function renderKubeconfig(opts: {
  server: string;
  caPem: string;
  user: KubeconfigUser;
  namespace?: string;
}): string {
  const user = "token" in opts.user ? { token: opts.user.token } : {
    "client-certificate-data": b64(opts.user.clientCertificatePem),
    "client-key-data": b64(opts.user.clientKeyPem),
  };
  const context = {
    cluster: "zen-lead-test",
    user: opts.user.name,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "zen-lead-test",
      cluster: { server: opts.server, "certificate-authority-data": b64(opts.caPem) },
    }],
    users: [{ name: opts.user.name, user }],
    contexts: [{ name: opts.user.name, context }],
    "current-context": opts.user.name,
  });
}

/** Writes the kubeconfig with owner-only permissions (it holds credentials) and returns its path. */
export async function writeKubeconfig(
  path: string,
  opts: Parameters<typeof renderKubeconfig>[0],
): Promise<string> {
  await Deno.writeTextFile(path, renderKubeconfig(opts), { mode: 0o600 });
  return path;
}
