// Generates, with the openssl CLI, the CA, certificates and keys one test cluster needs.
import { join } from "node:path";

/** File paths of everything generated; all PEM. */
export interface ClusterPki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

/** The identity in the admin client certificate: CN is the user name, O the group. */
export const CERT_ADMIN_USER = "zen-lead-cert-admin";
export const CERT_CONTROLLER_MANAGER_USER = "zen-lead-kube-controller-manager";
export const MASTERS_GROUP = "system:masters";

async function openssl(dir: string, args: string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args, cwd: dir, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(
      `expected the openssl CLI on PATH (tests/harness/build-k8s.sh installs it), found: ${err}`,
    );
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`openssl ${args.join(" ")} failed with code ${output.code}: ${stderr}`);
  }
}

// P-256 keys: generated in milliseconds, and accepted by Go, rustls (Deno) and OpenSSL alike.
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const DAYS = "7";

/** Signs a new leaf certificate with the cluster CA. */
function issue(dir: string, name: string, subject: string, extensions: string[]): Promise<void> {
  // deno-fmt-ignore
  return openssl(dir, [
    "req", "-x509", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", DAYS,
    "-subj", subject, "-CA", "ca.crt", "-CAkey", "ca.key",
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
    ...extensions.flatMap((e) => ["-addext", e]),
  ]);
}

/**
 * Creates a fresh CA, the API server's serving certificate (for the loopback names and addresses,
 * the in-cluster `kubernetes` names, the first service IP and the advertise address), client
 * certificates for the admin and the controller manager, and the service-account signing key pair.
 */
export async function generatePki(
  dir: string,
  opts: { advertiseAddress: string; kubernetesServiceIP: string },
): Promise<ClusterPki> {
  await Deno.mkdir(dir, { recursive: true });
  // deno-fmt-ignore
  await openssl(dir, [
    "req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", DAYS,
    "-subj", "/CN=zen-lead-test-ca",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  // deno-fmt-ignore
  const names = [
    "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1", "IP:::1",
    `IP:${opts.kubernetesServiceIP}`, `IP:${opts.advertiseAddress}`,
  ];
  await Promise.all([
    issue(dir, "serving", "/CN=kube-apiserver", [
      `subjectAltName=${names.join(",")}`,
      "extendedKeyUsage=serverAuth",
    ]),
    issue(dir, "admin", `/O=${MASTERS_GROUP}/CN=${CERT_ADMIN_USER}`, ["extendedKeyUsage=clientAuth"]),
    issue(dir, "controller-manager", `/O=${MASTERS_GROUP}/CN=${CERT_CONTROLLER_MANAGER_USER}`, [
      "extendedKeyUsage=clientAuth",
    ]),
    openssl(dir, [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-out",
      "sa.key",
    ])
      .then(() => openssl(dir, ["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"])),
  ]);
  const path = (file: string) => join(dir, file);
  return {
    dir,
    caCert: path("ca.crt"),
    caKey: path("ca.key"),
    servingCert: path("serving.crt"),
    servingKey: path("serving.key"),
    adminCert: path("admin.crt"),
    adminKey: path("admin.key"),
    controllerManagerCert: path("controller-manager.crt"),
    controllerManagerKey: path("controller-manager.key"),
    serviceAccountKey: path("sa.key"),
    serviceAccountPublicKey: path("sa.pub"),
  };
}
