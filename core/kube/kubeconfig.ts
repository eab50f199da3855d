/**
 * How the controller reaches its API server: the in-cluster service account, or a kubeconfig (token, token file,
 * client certificate, basic auth, exec plugins). Loading @kubernetes/client-node costs the controller about
 * 85 MB of RSS (its generated API models load with its config module), so it is imported only for what this
 * loader does not cover: legacy `auth-provider` users.
 */
import { Buffer } from "node:buffer";
import { parse as parseYaml } from "yaml";
import type { AgentOptions } from "node:https";
import { readEnv } from "../config/env.ts";

/** TLS material and a source of auth headers for one cluster. */
export interface ClusterCredentials {
  server: URL;
  tls: AgentOptions;
  /** Current auth headers; called again every minute and after a 401 (rotated tokens, expiring exec creds). */
  authHeaders(): Promise<Record<string, string>>;
  /** What the credentials are, for logs: "in-cluster", "kubeconfig <path> context <name>". */
  describe: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  "current-context"?: string;
  clusters?: Named<{ cluster: Record<string, unknown> }>[];
  contexts?: Named<{ context: { cluster: string; user: string; namespace?: string } }>[];
  users?: Named<{ user: Record<string, unknown> }>[];
}

function bad(where: string, what: string): Error {
  return new Error(`kubeconfig ${where}: ${what}`);
}

function readFile(path: string, base: string): string {
  const abs = path.startsWith("/") ? path : `${base}/${path}`;
  return Deno.readTextFileSync(abs);
}

/** `<field>-data` (base64) or `<field>` (a file path relative to the kubeconfig's folder). */
function material(obj: Record<string, unknown>, field: string, base: string): string | undefined {
  const data = obj[`${field}-data`];
  if (typeof data === "string" && data !== "") return Buffer.from(data, "base64").toString("utf8");
  const file = obj[field];
  if (typeof file === "string" && file !== "") return readFile(file, base);
  return undefined;
}

/** The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT and the mounted (rotating) token. */
export function inClusterCredentials(
  env: Record<string, string | undefined> = readEnv(),
): ClusterCredentials {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error(
      "no kubeconfig: expected --kubeconfig, KUBECONFIG, ~/.kube/config, or the in-cluster environment " +
        "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT), found none",
    );
  }
  const server = new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`);
  return {
    server,
    tls: { ca: Deno.readTextFileSync(`${SA_DIR}/ca.crt`) },
    // Projected service-account tokens rotate: read the file each time headers are refreshed.
    authHeaders: () =>
      Promise.resolve({ Authorization: `Bearer ${Deno.readTextFileSync(`${SA_DIR}/token`).trim()}` }),
    describe: "in-cluster service account",
  };
}

interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  apiVersion?: string;
}

interface ExecCredential {
  status?: {
    token?: string;
    clientCertificateData?: string;
    clientKeyData?: string;
    expirationTimestamp?: string;
  };
}

/** Runs a client-go exec credential plugin (aws, gke-gcloud-auth-plugin, kubelogin...) and caches its answer. */
function execAuth(exec: ExecConfig, base: string): () => Promise<Record<string, string>> {
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.until) return { Authorization: `Bearer ${cached.token}` };
    const env: Record<string, string> = {
      KUBERNETES_EXEC_INFO: JSON.stringify({
        apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1",
        kind: "ExecCredential",
        spec: { interactive: false },
      }),
    };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    const out = await new Deno.Command(exec.command, { args: exec.args ?? [], env, cwd: base, stdin: "null" })
      .output();
    if (!out.success) {
      throw new Error(
        `kubeconfig exec plugin "${exec.command}" exited with ${out.code}: ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
    const cred = JSON.parse(new TextDecoder().decode(out.stdout)) as ExecCredential;
    const token = cred.status?.token;
    if (!token) {
      throw new Error(
        `kubeconfig exec plugin "${exec.command}": expected status.token in its ExecCredential (client ` +
          `certificates from exec plugins are not supported), received ${
            Object.keys(cred.status ?? {}).join(", ")
          }`,
      );
    }
    const expiry = cred.status?.expirationTimestamp ? Date.parse(cred.status.expirationTimestamp) : NaN;
    // Renew a minute early; without an expiry, ask again at the next refresh.
    cached = { token, until: Number.isFinite(expiry) ? expiry - 60_000 : 0 };
    return { Authorization: `Bearer ${token}` };
  };
}

/** Parses one kubeconfig file for its current (or given) context. */
export async function kubeconfigCredentials(path: string, context?: string): Promise<ClusterCredentials> {
  const base = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  const doc = parseYaml(await Deno.readTextFile(path)) as KubeconfigFile | null;
  if (!doc || typeof doc !== "object") throw bad(path, "expected a YAML kubeconfig, found an empty document");
  const ctxName = context ?? doc["current-context"];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) {
    throw bad(
      path,
      `current-context "${ctxName ?? ""}" is not among contexts [${
        (doc.contexts ?? []).map((c) => c.name).join(", ")
      }]`,
    );
  }
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== "string") {
    throw bad(path, `context "${ctxName}": cluster "${ctx.cluster}" with a server URL not found`);
  }
  const server = new URL(cluster.server);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (user["auth-provider"]) return await legacyAuthProvider(path, ctxName!);

  const tls: AgentOptions = {};
  const ca = material(cluster, "certificate-authority", base);
  if (ca) tls.ca = ca;
  if (cluster["insecure-skip-tls-verify"] === true) tls.rejectUnauthorized = false;
  if (typeof cluster["tls-server-name"] === "string") tls.servername = cluster["tls-server-name"];
  const cert = material(user, "client-certificate", base);
  const key = material(user, "client-key", base);
  if (cert && key) {
    tls.cert = cert;
    tls.key = key;
  }

  let authHeaders: () => Promise<Record<string, string>> = () => Promise.resolve({});
  if (typeof user.token === "string" && user.token !== "") {
    const token = user.token;
    authHeaders = () => Promise.resolve({ Authorization: `Bearer ${token}` });
  } else if (typeof user.tokenFile === "string" && user.tokenFile !== "") {
    const file = user.tokenFile;
    authHeaders = () => Promise.resolve({ Authorization: `Bearer ${readFile(file, base).trim()}` });
  } else if (user.exec && typeof user.exec === "object") {
    authHeaders = execAuth(user.exec as ExecConfig, base);
  } else if (typeof user.username === "string" && typeof user.password === "string") {
    const basic = Buffer.from(`${user.username}:${user.password}`).toString("base64");
    authHeaders = () => Promise.resolve({ Authorization: `Basic ${basic}` });
  }
  return { server, tls, authHeaders, describe: `kubeconfig ${path} context ${ctxName}` };
}

/** Legacy `auth-provider` users (oidc, gcp, azure): delegated to @kubernetes/client-node, loaded only now. */
async function legacyAuthProvider(path: string, context: string): Promise<ClusterCredentials> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  kc.setCurrentContext(context);
  const { credentialsFromKubeConfig } = await import("./kubeconfig_client_node.ts");
  return credentialsFromKubeConfig(kc);
}

/**
 * The controller's credentials: `--kubeconfig` (or KUBECONFIG: the first file of a list that has a current
 * context), else ~/.kube/config when it exists, else in-cluster.
 */
export async function loadCredentials(path?: string): Promise<ClusterCredentials> {
  const candidates = path ? path.split(":").filter(Boolean) : [];
  if (candidates.length === 0) {
    const home = Deno.env.get("HOME");
    const def = home ? `${home}/.kube/config` : undefined;
    if (def && exists(def)) candidates.push(def);
  }
  if (candidates.length === 0) return inClusterCredentials();
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      return await kubeconfigCredentials(file);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(errors.join("; "));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
