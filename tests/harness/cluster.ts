// A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) for tests and demos.
import { AuthenticationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { join } from "node:path";
import { hostAdvertiseAddress } from "./advertise.ts";
import { ensureBinaries, type K8sBinaries } from "./k8s_binaries.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { CERT_ADMIN_USER, type ClusterPki, generatePki, MASTERS_GROUP } from "./pki.ts";
import { freePorts } from "./ports.ts";
import { SupervisedProcess } from "./process.ts";
import { errorText, httpStatus, sleep, waitFor } from "./wait.ts";

/** Controllers kube-controller-manager runs unless ClusterOptions.controllers says otherwise. */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  "garbagecollector",
  "namespace",
  "serviceaccount",
  "serviceaccount-token",
];

/** Dual-stack, because tests create IPv6 (and dual-stack) leader Services. */
export const DEFAULT_SERVICE_CIDRS = "10.96.0.0/16,fd00:10:96::/112";

/** The user behind the bearer token of `kubeconfigPath`. */
export const TOKEN_ADMIN_USER = "zen-lead-token-admin";
export { CERT_ADMIN_USER, MASTERS_GROUP };

export interface ClusterOptions {
  /** kube-controller-manager --controllers; e.g. [...DEFAULT_CONTROLLERS, "deployment", "replicaset", "endpointslice"]. */
  controllers?: readonly string[];
  /** --advertise-address; default: this machine's first usable IPv4 address, else FALLBACK_ADVERTISE_ADDRESS. */
  advertiseAddress?: string;
  /** --service-cluster-ip-range; default DEFAULT_SERVICE_CIDRS. */
  serviceClusterIPRange?: string;
  /** How long to wait for /readyz and the controller manager; default 90 s (cold caches, busy CI). */
  startTimeoutMs?: number;
  /** Parent of the cluster's data dir; default the system temp dir. */
  tmpDir?: string;
  /** Keep the data dir after stop() (also with ZEN_LEAD_KEEP_CLUSTER_DATA=1), e.g. to read logs. */
  keepData?: boolean;
  /** Print nothing (by default one line with the start time goes to stderr). */
  quiet?: boolean;
  /**
   * Let kube-apiserver speak HTTP/2 (default false: HTTP/1.1 only). Deno 2.9.6 running client-node
   * 2.0.1 (undici negotiates h2) crashes the whole process (segfault or nghttp2 assertion) when the
   * server sends GOAWAY to a connection with an open watch — which every cluster stop() does.
   */
  http2?: boolean;
  /**
   * Write an audit log of every request to managed objects' kinds and Leases (RequestResponse for writes) at
   * `<dataDir>/logs/audit.log`: who wrote what, and when.
   */
  auditLog?: boolean;
  /** Extra flags appended to each process's command line. */
  extraArgs?: { etcd?: string[]; apiserver?: string[]; controllerManager?: string[] };
}

export interface ClusterProcess {
  name: string;
  /** The server's pid. */
  pid: number | undefined;
  /** Its process group (the supervisor's pid). */
  pgid: number;
  logPath: string;
}

/** A running control plane. Use `await using cluster = await startCluster()` so it stops even when a test fails. */
export interface Cluster extends AsyncDisposable {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Admin kubeconfig authenticating with a static bearer token (group system:masters). */
  readonly kubeconfigPath: string;
  /** Admin kubeconfig authenticating with a client certificate (O=system:masters, CN=CERT_ADMIN_USER). */
  readonly certKubeconfigPath: string;
  /** The cluster CA (PEM file). */
  readonly caPath: string;
  /** Everything of this cluster lives here: pki/, etcd/, logs/, kubeconfigs; removed by stop(). */
  readonly dataDir: string;
  /** The bearer token in kubeconfigPath. */
  readonly adminToken: string;
  readonly advertiseAddress: string;
  /** The service-account token issuer (and default API audience). */
  readonly serviceAccountIssuer: string;
  readonly controllers: readonly string[];
  readonly binaries: K8sBinaries;
  /** Milliseconds from startCluster() to ready. */
  readonly startMs: number;
  /** etcd, kube-apiserver and kube-controller-manager, with pids and log files. */
  processes(): ClusterProcess[];
  /** A fresh client-node KubeConfig for the token admin. */
  kubeConfig(): KubeConfig;
  /** A fresh client-node KubeConfig for the client-certificate admin. */
  certKubeConfig(): KubeConfig;
  /** Creates a namespace named `<prefix>-<random>` and waits until pods can be created in it (default ServiceAccount). */
  newNamespace(prefix?: string): Promise<string>;
  /** Mints a token for the ServiceAccount (TokenRequest API) and writes a kubeconfig for it; returns its path. */
  serviceAccountKubeconfig(
    namespace: string,
    name: string,
    opts?: { expirationSeconds?: number; audiences?: string[] },
  ): Promise<string>;
  /**
   * Sends `signal` to the server process `name` ("etcd", "kube-apiserver", "kube-controller-manager") that this
   * cluster started, by its pid (never by name: other clusters run on the machine). SIGSTOP/SIGCONT pause it.
   */
  signalProcess(name: ClusterProcessName, signal: Deno.Signal): void;
  /**
   * Kills the server process `name` (SIGKILL unless told otherwise) and waits until it is gone; the API server
   * then refuses connections until restartProcess().
   */
  killProcess(name: ClusterProcessName, signal?: Deno.Signal): Promise<void>;
  /** Starts a killed process again with the same flags and data; for the API server waits for /readyz. */
  restartProcess(name: ClusterProcessName, timeoutMs?: number): Promise<void>;
  /** The API server's audit log (JSON lines), when started with `auditLog: true`. */
  readonly auditLogPath: string | undefined;
  /** Stops every process (SIGTERM, then SIGKILL) and removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

export type ClusterProcessName = "etcd" | "kube-apiserver" | "kube-controller-manager";

const live = new Set<LocalCluster>();
let unloadHookInstalled = false;

/** When the process exits without stop() (a forgotten cluster), kill its processes and data synchronously. */
function installUnloadHook(): void {
  if (unloadHookInstalled) return;
  unloadHookInstalled = true;
  globalThis.addEventListener("unload", () => {
    for (const cluster of live) cluster.killNow();
  });
}

/** Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports with a fresh data dir. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const started = performance.now();
  const binaries = await ensureBinaries();
  installUnloadHook();
  for (let attempt = 1;; attempt++) {
    const dataDir = await Deno.makeTempDir({ prefix: "zen-lead-cluster-", dir: opts.tmpDir });
    const cluster = new LocalCluster(binaries, dataDir, opts);
    live.add(cluster);
    try {
      await cluster.boot(opts.startTimeoutMs ?? 90_000);
    } catch (err) {
      await cluster.stop().catch(() => {});
      // A free port can be taken by someone else between choosing it and the server binding it.
      if (attempt < 3 && errorText(err).includes("address already in use")) continue;
      const kept = opts.keepData || Deno.env.get("ZEN_LEAD_KEEP_CLUSTER_DATA") === "1";
      const hint = kept ? `the data dir ${dataDir} was kept` : `the data dir ${dataDir} was removed; ` +
        "keep it with ZEN_LEAD_KEEP_CLUSTER_DATA=1";
      throw new Error(`cluster start failed (${hint}): ${errorText(err)}`, { cause: err });
    }
    cluster.startMs = Math.round(performance.now() - started);
    if (!opts.quiet) {
      console.error(
        `[cluster] Kubernetes ${binaries.kubernetesVersion} ready at ${cluster.server} in ` +
          `${(cluster.startMs / 1000).toFixed(1)} s (data: ${dataDir})`,
      );
    }
    return cluster;
  }
}

const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

class LocalCluster implements Cluster {
  server = "";
  kubeconfigPath: string;
  certKubeconfigPath: string;
  caPath: string;
  adminToken = crypto.randomUUID();
  advertiseAddress: string;
  serviceAccountIssuer = SERVICE_ACCOUNT_ISSUER;
  controllers: readonly string[];
  startMs = 0;
  #procs: SupervisedProcess[] = [];
  #specs = new Map<
    string,
    { command: string; args: string[]; orphanDir?: string; env?: Record<string, string> }
  >();
  #pki: ClusterPki | undefined;
  auditLogPath: string | undefined;
  #http: Deno.HttpClient | undefined;
  #stopping: Promise<void> | undefined;
  #keepData: boolean;

  constructor(readonly binaries: K8sBinaries, readonly dataDir: string, private opts: ClusterOptions) {
    this.kubeconfigPath = join(dataDir, "admin-token.kubeconfig");
    this.certKubeconfigPath = join(dataDir, "admin-cert.kubeconfig");
    this.caPath = join(dataDir, "pki", "ca.crt");
    this.advertiseAddress = opts.advertiseAddress ?? hostAdvertiseAddress();
    this.controllers = opts.controllers ?? DEFAULT_CONTROLLERS;
    this.#keepData = opts.keepData ?? Deno.env.get("ZEN_LEAD_KEEP_CLUSTER_DATA") === "1";
  }

  async boot(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const serviceCIDRs = this.opts.serviceClusterIPRange ?? DEFAULT_SERVICE_CIDRS;
    const pki = await generatePki(join(this.dataDir, "pki"), {
      advertiseAddress: this.advertiseAddress,
      kubernetesServiceIP: firstServiceIP(serviceCIDRs),
    });
    const [apiPort, etcdPort, etcdPeerPort] = freePorts(3);
    this.server = `https://127.0.0.1:${apiPort}`;
    await Deno.mkdir(join(this.dataDir, "logs"));
    await this.#writeKubeconfigs(pki);

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    this.#spawn("etcd", this.binaries.etcd, [
      "--name=zen-lead",
      `--data-dir=${join(this.dataDir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=zen-lead=${peerUrl}`,
      "--initial-cluster-state=new",
      // Throwaway data: skipping fsync makes writes (thousands of pods in benchmarks) far faster.
      "--unsafe-no-fsync=true",
      "--quota-backend-bytes=8589934592",
      "--log-level=warn",
      ...(this.opts.extraArgs?.etcd ?? []),
    ], this.dataDir);

    const tokenFile = join(this.dataDir, "tokens.csv");
    await Deno.writeTextFile(
      tokenFile,
      `${this.adminToken},${TOKEN_ADMIN_USER},${TOKEN_ADMIN_USER},"${MASTERS_GROUP}"\n`,
      {
        mode: 0o600,
      },
    );
    const audit = this.opts.auditLog ? await this.#writeAuditPolicy() : [];
    this.#pki = pki;
    this.#spawn("kube-apiserver", this.binaries.kubeApiserver, [
      ...audit,
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--advertise-address=${this.advertiseAddress}`,
      `--cert-dir=${join(this.dataDir, "apiserver")}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${tokenFile}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
      "--authorization-mode=RBAC",
      `--service-cluster-ip-range=${serviceCIDRs}`,
      // Benchmarks create thousands of objects concurrently: raise the limits, and use plain
      // inflight limits instead of priority-and-fairness queuing for predictable throughput.
      "--max-requests-inflight=3000",
      "--max-mutating-requests-inflight=1500",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      ...(this.opts.http2 ? [] : ["--disable-http2-serving=true"]),
      "--v=1",
      ...(this.opts.extraArgs?.apiserver ?? []),
    ]);

    await this.#waitReady(pki, deadline);

    this.#spawn("kube-controller-manager", this.binaries.kubeControllerManager, [
      `--kubeconfig=${join(this.dataDir, "controller-manager.kubeconfig")}`,
      `--controllers=${this.controllers.join(",")}`,
      "--leader-elect=false",
      // No serving endpoint needed: readiness is observed through the objects it creates.
      "--secure-port=0",
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      "--use-service-account-credentials=false",
      "--kube-api-qps=1000",
      "--kube-api-burst=2000",
      "--concurrent-gc-syncs=20",
      "--v=1",
      ...(this.opts.extraArgs?.controllerManager ?? []),
    ]);
    if (this.controllers.includes("serviceaccount")) {
      await this.#whileRunning(
        "the serviceaccount controller to create ServiceAccount default/default",
        deadline,
        async () =>
          await this.#core().readNamespacedServiceAccount({ namespace: "default", name: "default" }),
      );
    }
  }

  /** Flags of an audit log of writes to Services, EndpointSlices and Leases (with the Lease record written). */
  async #writeAuditPolicy(): Promise<string[]> {
    const policy = join(this.dataDir, "audit-policy.yaml");
    await Deno.writeTextFile(
      policy,
      `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Request
    verbs: ["create", "update", "patch"]
    resources:
      - group: "coordination.k8s.io"
        resources: ["leases"]
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
    resources:
      - group: ""
        resources: ["services", "services/status"]
      - group: "discovery.k8s.io"
        resources: ["endpointslices"]
  - level: None
`,
    );
    this.auditLogPath = join(this.dataDir, "logs", "audit.log");
    return [
      `--audit-policy-file=${policy}`,
      `--audit-log-path=${this.auditLogPath}`,
      "--audit-log-format=json",
      "--audit-log-mode=blocking",
      "--audit-log-maxsize=0",
    ];
  }

  async #writeKubeconfigs(pki: ClusterPki): Promise<void> {
    const caPem = await Deno.readTextFile(pki.caCert);
    const certUser = async (name: string, cert: string, key: string) => ({
      name,
      clientCertificatePem: await Deno.readTextFile(cert),
      clientKeyPem: await Deno.readTextFile(key),
    });
    await writeKubeconfig(this.kubeconfigPath, {
      server: this.server,
      caPem,
      user: { name: TOKEN_ADMIN_USER, token: this.adminToken },
    });
    await writeKubeconfig(this.certKubeconfigPath, {
      server: this.server,
      caPem,
      user: await certUser(CERT_ADMIN_USER, pki.adminCert, pki.adminKey),
    });
    await writeKubeconfig(join(this.dataDir, "controller-manager.kubeconfig"), {
      server: this.server,
      caPem,
      user: await certUser("kube-controller-manager", pki.controllerManagerCert, pki.controllerManagerKey),
    });
  }

  #spawn(
    name: string,
    command: string,
    args: string[],
    orphanDir?: string,
    env?: Record<string, string>,
  ): void {
    this.#specs.set(name, { command, args, orphanDir, env });
    this.#procs.push(SupervisedProcess.start({
      name,
      command,
      args,
      logPath: join(this.dataDir, "logs", `${name}.log`),
      pidPath: join(this.dataDir, "logs", `${name}.pid`),
      orphanDir: this.#keepData ? undefined : orphanDir,
      env,
    }));
  }

  /** Polls `check` until it succeeds, failing fast with the log tail if a process exits meanwhile. */
  async #whileRunning<T>(what: string, deadline: number, check: () => Promise<T | undefined>): Promise<T> {
    let last = "";
    while (true) {
      const dead = this.#procs.find((p) => p.status !== undefined);
      if (dead) {
        throw new Error(
          `expected ${dead.name} to keep running while waiting for ${what}, found it exited with code ` +
            `${dead.status?.code}. Last lines of ${dead.logPath}:\n${dead.logTail()}`,
        );
      }
      try {
        const value = await check();
        if (value !== undefined) return value;
      } catch (err) {
        last = errorText(err);
      }
      if (Date.now() > deadline) {
        const tails = this.#procs.map((p) => `--- ${p.logPath}:\n${p.logTail(15)}`).join("\n");
        throw new Error(`expected ${what} before the start timeout, found: ${last || "not yet"}\n${tails}`);
      }
      await sleep(100);
    }
  }

  async #waitReady(pki: ClusterPki, deadline: number): Promise<void> {
    this.#http ??= Deno.createHttpClient({ caCerts: [await Deno.readTextFile(pki.caCert)] });
    const client = this.#http;
    await this.#whileRunning("GET /readyz to return 200", deadline, async () => {
      const res = await fetch(`${this.server}/readyz`, {
        client,
        headers: { authorization: `Bearer ${this.adminToken}` },
        signal: AbortSignal.timeout(5_000),
      });
      const body = await res.text();
      if (res.status === 200) return true;
      throw new Error(`HTTP ${res.status}: ${body.split("\n").filter((l) => l.includes("[-]")).join("; ")}`);
    });
  }

  #core(): CoreV1Api {
    return this.kubeConfig().makeApiClient(CoreV1Api);
  }

  #proc(name: ClusterProcessName): SupervisedProcess {
    const p = this.#procs.findLast((p) => p.name === name);
    if (!p) throw new Error(`expected a ${name} process in this cluster, found none`);
    return p;
  }

  signalProcess(name: ClusterProcessName, signal: Deno.Signal): void {
    const pid = this.#proc(name).serverPid;
    if (pid === undefined) throw new Error(`expected ${name} to have recorded its pid, found none`);
    Deno.kill(pid, signal);
  }

  async killProcess(name: ClusterProcessName, signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const p = this.#proc(name);
    if (p.status !== undefined) return;
    this.signalProcess(name, signal);
    // Its supervisor ends when the server does (a SIGTERMed API server takes a few seconds).
    await p.exited;
  }

  async restartProcess(name: ClusterProcessName, timeoutMs = 60_000): Promise<void> {
    const old = this.#proc(name);
    if (old.status === undefined) {
      throw new Error(`expected ${name} to be stopped before a restart, found it running`);
    }
    const spec = this.#specs.get(name)!;
    this.#procs = this.#procs.filter((p) => p !== old);
    this.#spawn(name, spec.command, spec.args, spec.orphanDir, spec.env);
    if (name === "kube-apiserver") await this.#waitReady(this.#pki!, Date.now() + timeoutMs);
  }

  processes(): ClusterProcess[] {
    return this.#procs.map((p) => ({ name: p.name, pid: p.serverPid, pgid: p.pgid, logPath: p.logPath }));
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  certKubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.certKubeconfigPath);
    return kc;
  }

  async newNamespace(prefix = "test"): Promise<string> {
    const core = this.#core();
    const ns = await core.createNamespace({
      body: { metadata: { generateName: `${prefix}-`, labels: { "zen-lead.test/harness": "true" } } },
    });
    const namespace = ns.metadata?.name;
    if (!namespace) {
      throw new Error(`expected the created namespace to have a name, found ${JSON.stringify(ns.metadata)}`);
    }
    await this.#ensureDefaultServiceAccount(core, namespace);
    return namespace;
  }

  /** The ServiceAccount admission plugin rejects pods until `default` exists in their namespace. */
  async #ensureDefaultServiceAccount(core: CoreV1Api, namespace: string): Promise<void> {
    if (!this.controllers.includes("serviceaccount")) {
      try {
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "default" } } });
      } catch (err) {
        if (httpStatus(err) !== 409) throw err;
      }
      return;
    }
    await waitFor(
      `ServiceAccount ${namespace}/default (created by the serviceaccount controller)`,
      () => core.readNamespacedServiceAccount({ namespace, name: "default" }),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }

  async serviceAccountKubeconfig(
    namespace: string,
    name: string,
    opts: { expirationSeconds?: number; audiences?: string[] } = {},
  ): Promise<string> {
    const request = await this.#core().createNamespacedServiceAccountToken({
      namespace,
      name,
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: opts.audiences ?? [SERVICE_ACCOUNT_ISSUER],
          expirationSeconds: opts.expirationSeconds ?? 86_400,
        },
      },
    });
    const token = request.status?.token;
    if (!token) {
      throw new Error(`expected a token in the TokenRequest status for ${namespace}/${name}, found none`);
    }
    const caPem = await Deno.readTextFile(this.caPath);
    return await writeKubeconfig(join(this.dataDir, `sa-${namespace}-${name}.kubeconfig`), {
      server: this.server,
      caPem,
      namespace,
      user: { name: `system:serviceaccount:${namespace}:${name}`, token },
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #stop(): Promise<void> {
    const byName = (name: string) => this.#procs.filter((p) => p.name === name);
    const errors: string[] = [];
    const stopAll = async (procs: SupervisedProcess[]) => {
      for (const result of await Promise.allSettled(procs.map((p) => p.stop()))) {
        if (result.status === "rejected") errors.push(errorText(result.reason));
      }
    };
    // Clients of etcd first, so the API server does not spend its grace period retrying a dead etcd.
    await stopAll([...byName("kube-controller-manager"), ...byName("kube-apiserver")]);
    await stopAll(byName("etcd"));
    this.#http?.close();
    live.delete(this);
    if (!this.#keepData) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
    if (errors.length) throw new Error(`expected every cluster process to stop, found: ${errors.join("; ")}`);
  }

  /** For the unload hook: no awaiting possible there. */
  killNow(): void {
    for (const p of this.#procs) p.killNow();
    if (!this.#keepData) {
      try {
        Deno.removeSync(this.dataDir, { recursive: true });
      } catch { /* already gone */ }
    }
  }
}

/** The first address of the first service CIDR: the `kubernetes` Service's ClusterIP. */
function firstServiceIP(cidrs: string): string {
  const first = cidrs.split(",")[0].trim();
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(first);
  if (!match) {
    throw new Error(`expected the first service CIDR to be IPv4 like 10.96.0.0/16, found "${first}"`);
  }
  return `${match[1]}.${match[2]}.${match[3]}.${Number(match[4]) + 1}`;
}

/** Verifies that the identity the API server sees for `kc` is the one expected (SelfSubjectReview). */
export async function whoAmI(kc: KubeConfig): Promise<{ username: string; groups: string[] }> {
  const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
  });
  const user = review.status?.userInfo;
  return { username: user?.username ?? "", groups: user?.groups ?? [] };
}
