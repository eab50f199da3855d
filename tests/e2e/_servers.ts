/**
 * Real health targets for end-to-end tests: an HTTP server and a grpc.health.v1 server bound to an address that
 * a simulated pod reports as its IP, with the answer the test chooses. Each records when it was asked, so a test
 * can tell how often zen-lead probes a pod.
 *
 * The address is this machine's own interface address, not 127.0.0.x: the API server rejects loopback addresses
 * in EndpointSlices ("may not be in the loopback range"), so a leader on 127.0.0.x could never be routed. Pods
 * share the address and differ by port (each declares its server's port under the name the check uses).
 */
import { FALLBACK_ADVERTISE_ADDRESS, hostAdvertiseAddress } from "../harness/advertise.ts";
import { startSteeredProcess } from "../harness/steered_process.ts";

/** The address health targets listen on and pods report: routable in an EndpointSlice, reachable from here. */
export function podAddress(): string {
  const ip = hostAdvertiseAddress();
  if (ip === FALLBACK_ADVERTISE_ADDRESS) {
    throw new Error(
      "health e2e: this machine has no non-loopback IPv4 interface address; one is needed as the pod IP of " +
        "the real health servers (the API server rejects 127.0.0.0/8 in EndpointSlices)",
    );
  }
  return ip;
}

/**
 * - `ok`: 200; `fail`: 500; `hang`: accepts the request and never answers (a timeout);
 * - `flap`: 200 and 500 by turns, request after request (never two failures in a row).
 */
export type HttpMode = "ok" | "fail" | "hang" | "flap";

export interface HttpTarget {
  readonly ip: string;
  readonly port: number;
  mode: HttpMode;
  /** Epoch ms of every request received. */
  readonly hits: number[];
  /** Closes the listener: connections to ip:port are refused until `up()`. */
  down(): Promise<void>;
  /** Listens again on the same ip:port. */
  up(): void;
  close(): Promise<void>;
}

export function startHttpTarget(ip: string, mode: HttpMode = "ok"): HttpTarget {
  const hits: number[] = [];
  let flapOk = false;
  // Hung requests end when the server goes down, so shutdown never waits for them.
  let release!: () => void;
  let released = new Promise<void>((r) => release = r);
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;

  const handler = async (): Promise<Response> => {
    hits.push(Date.now());
    const current = target.mode;
    if (current === "hang") {
      await released;
      return new Response("gave up", { status: 503 });
    }
    const healthy = current === "ok" || (current === "flap" && (flapOk = !flapOk));
    return new Response(healthy ? "ok" : "failing", { status: healthy ? 200 : 500 });
  };
  const listen = (port: number) => Deno.serve({ hostname: ip, port, onListen() {} }, handler);

  server = listen(0);
  const target: HttpTarget = {
    ip,
    port: server.addr.port,
    mode,
    hits,
    async down() {
      const s = server;
      server = undefined;
      release();
      released = new Promise<void>((r) => release = r);
      await s?.shutdown();
    },
    up() {
      server ??= listen(target.port);
    },
    async close() {
      await target.down();
    },
  };
  return target;
}

/** grpc.health.v1 ServingStatus values. */
export const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

export interface GrpcTarget {
  readonly ip: string;
  readonly port: number;
  /** The status answered for the health service `service` ("" is the server as a whole); resolves once in force. */
  setStatus(service: string, status: number | "hang"): Promise<void>;
  readonly hits: number[];
  close(): Promise<void>;
}

/**
 * A grpc.health.v1 target in a child process (see _grpc_target_main.ts for why not in this one); with `netns`,
 * inside that network namespace (a pod's, for tests on real pod IPs).
 */
export async function startGrpcTarget(
  ip: string,
  statuses: Record<string, number | "hang">,
  opts: { netns?: string } = {},
): Promise<GrpcTarget> {
  const inNs = opts.netns ? ["netns", "exec", opts.netns, Deno.execPath()] : [];
  const command = new Deno.Command(opts.netns ? "ip" : Deno.execPath(), {
    args: [
      ...inNs,
      "run",
      "-A",
      new URL("./_grpc_target_main.ts", import.meta.url).pathname,
      ip,
      JSON.stringify(statuses),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  });
  const target = await startSteeredProcess(
    command,
    (msg) => typeof msg.port === "number" ? msg.port : undefined,
    "gRPC target",
  );
  return {
    ip,
    port: target.ready,
    hits: target.hits,
    setStatus: (service, status) => target.send({ service, status }),
    close: target.close,
  };
}
