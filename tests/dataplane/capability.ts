/**
 * Whether this machine can run the data plane: root, ip/nft/socat, a kernel with nftables for kube-proxy
 * (>= 5.13) and network namespaces that accept an nft table. Returns why not, or undefined when it can.
 * Tests skip (ignore, with this reason printed), never pass, when it cannot.
 */
import { onPath, shSync } from "./sh.ts";

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = Deno.osRelease().split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

let cached: string | undefined | null = null;

export function dataplaneUnsupported(): string | undefined {
  if (cached !== null) return cached;
  cached = probe();
  return cached;
}

function probe(): string | undefined {
  if (Deno.build.os !== "linux") return `needs Linux network namespaces, found ${Deno.build.os}`;
  if (Deno.uid() !== 0) return `needs root for network namespaces and nftables, found uid ${Deno.uid()}`;
  for (const tool of ["ip", "nft", "socat"]) {
    if (!onPath(tool)) return `needs \`${tool}\` (run tests/dataplane/ensure-tools.sh as root)`;
  }
  if (!kernelAtLeast(5, 13)) {
    return `kube-proxy's nftables mode needs Linux >= 5.13, found ${Deno.osRelease()}`;
  }
  const ns = `zl17-probe-${crypto.randomUUID().slice(0, 6)}`;
  if (!shSync("ip", ["netns", "add", ns]).ok) {
    return "cannot create a network namespace (`ip netns add` failed)";
  }
  try {
    const nft = shSync("ip", ["netns", "exec", ns, "nft", "add", "table", "inet", "zl17probe"]);
    if (!nft.ok) return "cannot create an nftables table inside a network namespace";
  } finally {
    shSync("ip", ["netns", "del", ns]);
  }
  return undefined;
}

/** Prints the skip reason once, so a skipped data-plane suite says why in the test output. */
export function announceSkip(suite: string): string | undefined {
  const reason = dataplaneUnsupported();
  if (reason) console.error(`[dataplane] skipping ${suite}: ${reason}`);
  return reason;
}
