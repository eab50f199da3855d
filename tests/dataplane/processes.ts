/**
 * The processes of one data-plane run (socat relays, kube-proxy, pod servers, client, controller), each
 * supervised (tests/harness/process.ts: stopped if this process dies), most of them inside a namespace.
 */
import { join } from "node:path";
import { SupervisedProcess } from "../harness/process.ts";

export class Processes {
  #procs: SupervisedProcess[] = [];
  #count = 0;

  constructor(readonly logDir: string) {}

  /** Starts `cmd args` inside `ns` (or on the host when ns is undefined); output goes to `<logDir>/<name>.log`. */
  start(name: string, ns: string | undefined, cmd: string, args: string[], env?: Record<string, string>) {
    const file = `${name}.${++this.#count}`;
    const p = SupervisedProcess.start({
      name,
      command: ns ? "ip" : cmd,
      args: ns ? ["netns", "exec", ns, cmd, ...args] : args,
      logPath: join(this.logDir, `${file}.log`),
      pidPath: join(this.logDir, `${file}.pid`),
      env,
    });
    this.#procs.push(p);
    return p;
  }

  /** Stops one process and forgets it. */
  async stop(p: SupervisedProcess, graceMs = 2_000): Promise<void> {
    this.#procs = this.#procs.filter((q) => q !== p);
    await p.stop(graceMs);
  }

  /** Stops every process, newest first. */
  async stopAll(): Promise<void> {
    const all = this.#procs.splice(0).reverse();
    await Promise.allSettled(all.map((p) => p.stop(2_000)));
  }
}

/** API server on the host's loopback -> a UNIX socket that namespaces can reach through the file system. */
export function hostToUnix(procs: Processes, socket: string, port: number): SupervisedProcess {
  return procs.start("relay-api", undefined, "socat", [
    `UNIX-LISTEN:${socket},fork,mode=600`,
    `TCP:127.0.0.1:${port}`,
  ]);
}

/** Inside `ns`: 127.0.0.1:<port> -> the UNIX socket (how kube-proxy and the controller reach the API server). */
export function tcpInNsToUnix(procs: Processes, ns: string, port: number, socket: string): SupervisedProcess {
  return procs.start("relay-in", ns, "socat", [
    `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`,
    `UNIX-CONNECT:${socket}`,
  ]);
}

/** A UNIX socket -> 127.0.0.1:<port> inside `ns` (how the test reads metrics served inside a namespace). */
export function unixToTcpInNs(procs: Processes, ns: string, socket: string, port: number): SupervisedProcess {
  return procs.start("relay-out", ns, "socat", [
    `UNIX-LISTEN:${socket},fork,mode=600`,
    `TCP:127.0.0.1:${port}`,
  ]);
}

/** GET `path` over a UNIX socket (HTTP/1.0, the body until the server closes); throws on a non-2xx status. */
export async function httpGetUnix(socket: string, path: string, timeoutMs = 5_000): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: localhost\r\n\r\n`));
    const text = await new Response(conn.readable).text();
    const [head, ...body] = text.split("\r\n\r\n");
    const status = Number(head.split(" ")[1]);
    if (!(status >= 200 && status < 300)) {
      throw new Error(`expected 2xx from ${path} over ${socket}, found ${head.split("\r\n")[0]}`);
    }
    return body.join("\r\n\r\n");
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by readable */ }
  }
}
