/**
 * A TCP proxy in front of the API server that can be paused: while paused, bytes in both directions are held
 * (connections stay open, nothing flows), which is how a half-dead network or a partitioned replica looks.
 * `pause("upstream")` holds only what the client sends (a one-way partition: watch events still arrive, requests
 * do not, until resume() delivers what was held).
 */
import { KubeConfig } from "@kubernetes/client-node";

export class PausableProxy {
  private paused = false;
  private upstreamOnly = false;
  private resumed = Promise.withResolvers<void>();
  private readonly conns = new Set<Deno.TcpConn>();
  private readonly listener: Deno.TcpListener;
  private readonly accepting: Promise<void>;

  constructor(private readonly upstream: { hostname: string; port: number }) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.accepting = this.accept();
  }

  get port(): number {
    return (this.listener.addr as Deno.NetAddr).port;
  }

  pause(direction: "both" | "upstream" = "both"): void {
    this.upstreamOnly = direction === "upstream";
    if (this.paused) return;
    this.paused = true;
    this.resumed = Promise.withResolvers<void>();
  }

  resume(): void {
    this.paused = false;
    this.resumed.resolve();
  }

  /** A copy of `kc` whose current cluster's server is this proxy (same TLS name check: 127.0.0.1). */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const current = kc.getCurrentCluster()!;
    const url = new URL(current.server);
    url.port = String(this.port);
    const out = new KubeConfig();
    out.loadFromOptions({
      clusters: kc.getClusters().map((c) => c.name === current.name ? { ...c, server: url.origin } : c),
      users: kc.getUsers(),
      contexts: kc.getContexts(),
      currentContext: kc.getCurrentContext(),
    });
    return out;
  }

  /** Closes every open connection (clients see a reset), keeping the listener. */
  cutConnections(): void {
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.conns.clear();
  }

  async close(): Promise<void> {
    this.listener.close();
    this.cutConnections();
    this.resume();
    await this.accepting.catch(() => {});
  }

  private async accept(): Promise<void> {
    for await (const client of this.listener) {
      this.conns.add(client);
      Deno.connect(this.upstream).then((server) => {
        this.conns.add(server);
        const closeBoth = () => {
          for (const c of [client, server]) {
            try {
              c.close();
            } catch { /* already closed */ }
            this.conns.delete(c);
          }
        };
        Promise.race([this.pump(client, server, true), this.pump(server, client, false)]).finally(closeBoth);
      }).catch(() => client.close());
    }
  }

  private async pump(from: Deno.TcpConn, to: Deno.TcpConn, upstream: boolean): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) return;
        while (this.paused && (upstream || !this.upstreamOnly)) await this.resumed.promise;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // A side closed: the other pump and closeBoth end the pair.
    }
  }
}
