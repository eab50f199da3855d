// Free TCP ports on the loopback interface for the processes of one cluster.

/** Returns `count` distinct free ports; all are held open together so one call never repeats a port. */
export function freePorts(count: number, hostname = "127.0.0.1"): number[] {
  const listeners = Array.from({ length: count }, () => Deno.listen({ hostname, port: 0 }));
  try {
    return listeners.map((l) => (l.addr as Deno.NetAddr).port);
  } finally {
    for (const l of listeners) l.close();
  }
}
