/** A controller replica as a child process (`deno run main.ts`), with its JSON log lines collected. */
import { CONTROLLER_ARGS, CONTROLLER_NS, ROOT } from "./_env.ts";
import { readLines } from "../../health/grpc_prober_protocol.ts";
import { logRecord } from "../harness/zen_lead_process.ts";

export class Replica {
  readonly lines: Record<string, unknown>[] = [];
  readonly child: Deno.ChildProcess;
  private readonly done: Promise<void>;

  constructor(
    readonly identity: string,
    kubeconfig: string,
    args: string[] = [],
    env: Record<string, string> = {},
  ) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ROOT + "main.ts",
        "--kubeconfig",
        kubeconfig,
        ...CONTROLLER_ARGS,
        "--log-level=info",
        ...args,
      ],
      env: { POD_NAMESPACE: CONTROLLER_NS, POD_NAME: identity, NO_COLOR: "1", ...env },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.done = readLines(child.stderr, (line) => this.lines.push(logRecord(line)));
  }

  /** The pid of the controller process (a test signals only processes it started). */
  get pid(): number {
    return this.child.pid;
  }

  /** host:port of a server ("health" or "metrics") once it logged that it listens. */
  address(server: "health" | "metrics"): string | undefined {
    return this.lines.find((l) => l.msg === `${server} server listening`)?.address as string | undefined;
  }

  logged(msg: string): boolean {
    return this.lines.some((l) => String(l.msg).includes(msg));
  }

  async signal(sig: Deno.Signal): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(sig);
    } catch { /* already exited */ }
    const status = await this.child.status;
    await this.done;
    return status;
  }
}
