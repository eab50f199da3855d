/**
 * Go-style bind addresses (`:8080`, `127.0.0.1:0`, `[::1]:9000`) as Deno.serve options. An empty host (`:8080`,
 * the default) means every address, IPv4 and IPv6 alike: `hostname` is then "" and serve() binds both families.
 */

export function parseBindAddress(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) {
    throw new Error(`bind address ${JSON.stringify(addr)}: expected host:port, ":port" or "[ipv6]:port"`);
  }
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`bind address ${JSON.stringify(addr)}: port ${port} is above 65535`);
  return { hostname: m[1] ?? m[2] ?? "", port };
}
