/**
 * Runs a rendered Deployment's pod the way a kubelet would, with podman (runc): the container's args and env
 * (downward API resolved), the ServiceAccount token, ca.crt and namespace mounted at the in-cluster path,
 * KUBERNETES_SERVICE_HOST/PORT, and the securityContext as runtime options (uid/gid, read-only root, no
 * capabilities, no privilege escalation, RuntimeDefault seccomp), emptyDirs as tmpfs. Host network.
 */
import assert from "node:assert/strict";
import { readLines } from "../../health/grpc_prober_protocol.ts";
import { logRecord } from "../harness/zen_lead_process.ts";

export const SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
const RUNTIME = ["--runtime", "runc"];
const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

// deno-lint-ignore no-explicit-any
type Obj = any;

export interface PodContext {
  podName: string;
  namespace: string;
  /** Host directory holding token, ca.crt and namespace. */
  serviceAccountDir: string;
  apiHost: string;
  apiPort: string;
}

/** The `podman run` arguments for the first container of a Deployment's pod template. */
export function podmanArgs(deployment: Obj, ctx: PodContext, containerName: string): string[] {
  const pod = deployment.spec.template.spec;
  const c = pod.containers[0];
  const psc = pod.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const uid = sc.runAsUser ?? psc.runAsUser;
  const gid = sc.runAsGroup ?? psc.runAsGroup;
  assert.ok(uid !== undefined && gid !== undefined, "the pod must name its uid and gid");
  assert.equal(sc.readOnlyRootFilesystem, true, "read-only root filesystem");
  assert.deepEqual(sc.capabilities?.drop, ["ALL"], "all capabilities dropped");
  assert.equal(sc.allowPrivilegeEscalation, false, "no privilege escalation");
  assert.equal((sc.seccompProfile ?? psc.seccompProfile)?.type, "RuntimeDefault", "RuntimeDefault seccomp");
  const args = [
    ...RUNTIME,
    "run",
    "--rm",
    "--name",
    containerName,
    "--network",
    "host",
    "--user",
    `${uid}:${gid}`,
    "--read-only",
    // Only the pod's own volumes are writable: no implicit tmpfs on /tmp, /run or /var/tmp.
    "--read-only-tmpfs=false",
    "--cap-drop=ALL",
    "--security-opt",
    "no-new-privileges",
    ...ULIMITS,
    "--pull=never",
    "--stop-timeout",
    String(pod.terminationGracePeriodSeconds ?? 30),
  ];
  for (const m of c.volumeMounts ?? []) {
    const vol = pod.volumes.find((v: Obj) => v.name === m.name);
    assert.ok(vol?.emptyDir, `only emptyDir volumes are expected, found ${JSON.stringify(vol)}`);
    const size = String(vol.emptyDir.sizeLimit ?? "64Mi").replace(/Mi$/, "m").replace(/Gi$/, "g");
    args.push("--tmpfs", `${m.mountPath}:rw,size=${size},mode=1777`);
  }
  if (pod.automountServiceAccountToken !== false) {
    args.push("-v", `${ctx.serviceAccountDir}:${SA_MOUNT}:ro`);
  }
  const env: Record<string, string> = {
    KUBERNETES_SERVICE_HOST: ctx.apiHost,
    KUBERNETES_SERVICE_PORT: ctx.apiPort,
  };
  for (const e of c.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field === "metadata.namespace") env[e.name] = ctx.namespace;
    else if (field === "metadata.name") env[e.name] = ctx.podName;
    else if (e.value !== undefined) env[e.name] = String(e.value);
    else throw new Error(`env ${e.name}: unsupported source ${JSON.stringify(e.valueFrom)}`);
  }
  for (const [k, v] of Object.entries(env)) args.push("-e", `${k}=${v}`);
  args.push(c.image, ...(c.command ?? []), ...(c.args ?? []));
  return args;
}

/** One container started by `podman run`, its JSON log lines collected from stderr. */
export class PodmanPod {
  readonly lines: Record<string, unknown>[] = [];
  readonly startedAt = performance.now();
  /** The container process has ended. */
  exited = false;
  private readonly child: Deno.ChildProcess;
  private readonly done: Promise<void>;

  constructor(readonly name: string, args: string[]) {
    const child = new Deno.Command("podman", { args, stdin: "null", stdout: "null", stderr: "piped" })
      .spawn();
    this.child = child;
    child.status.then(() => this.exited = true);
    this.done = readLines(child.stderr, (line) => this.lines.push(logRecord(line)));
  }

  /** Still running and its last election message is "started leading". */
  get holdsLease(): boolean {
    const last = this.lines.findLast((l) => l.msg === "started leading" || l.msg === "stopped leading");
    return !this.exited && last?.msg === "started leading";
  }

  /** The address a listener logged, e.g. "health server listening". */
  address(msg: string): string | undefined {
    return this.lines.find((l) => l.msg === msg)?.address as string | undefined;
  }

  /** `podman inspect` of this container (undefined once it is gone). */
  async inspect(): Promise<Obj | undefined> {
    const out = await new Deno.Command("podman", {
      args: ["inspect", this.name],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return out.success ? JSON.parse(new TextDecoder().decode(out.stdout))[0] : undefined;
  }

  /** SIGTERM, then SIGKILL after the grace period, as a kubelet stops a container. */
  async stop(): Promise<Deno.CommandStatus> {
    await new Deno.Command("podman", {
      args: [...RUNTIME, "stop", this.name],
      stdout: "null",
      stderr: "null",
    })
      .output();
    const status = await this.child.status;
    await this.done;
    return status;
  }

  /** Removes the container whatever its state (teardown). */
  async remove(): Promise<void> {
    await new Deno.Command("podman", {
      args: [...RUNTIME, "rm", "-f", this.name],
      stdout: "null",
      stderr: "null",
    })
      .output();
    await this.child.status.catch(() => {});
  }
}

/** Runs the image's --help; a runtime that cannot start containers here gives a skip reason, not a failure. */
export async function probeRuntime(tag: string): Promise<{ help: string; ms: number } | { skip: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command("podman", {
    args: [
      ...RUNTIME,
      "run",
      "--rm",
      "--read-only",
      "--cap-drop=ALL",
      "--network",
      "host",
      ...ULIMITS,
      tag,
      "--help",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, code: -1, stdout: new Uint8Array(), stderr: String(e) }));
  const ms = performance.now() - t0;
  const dec = (b: Uint8Array | string) => typeof b === "string" ? b : new TextDecoder().decode(b);
  if (out.success) return { help: dec(out.stdout), ms };
  const err = dec(out.stderr);
  if (/OCI runtime|runc|crun|cgroup|container create failed|setrlimit|permission denied/i.test(err)) {
    return {
      skip: `podman cannot run containers on this machine: ${err.trim().split("\n").slice(-3).join(" ")}`,
    };
  }
  throw new Error(`${tag} --help failed (exit ${out.code}):\n${err}`);
}
