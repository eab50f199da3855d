/** Go-style bind addresses (`:8080`, `127.0.0.1:0`, `[::1]:9000`) as Deno.serve options. */

export function parseBindAddress(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) {
    throw new Error(`bind address ${JSON.stringify(addr)}: expected host:port, ":port" or "[ipv6]:port"`);
  }
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`bind address ${JSON.stringify(addr)}: port ${port} is above 65535`);
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}
