/**
 * `deno task demo --dataplane`: the demo through a real data plane. kube-proxy (nftables) in a node namespace,
 * three pods as servers in their own namespaces, zen-lead in its namespace, and a client that opens a fresh
 * connection to web-leader's ClusterIP every 100 ms and prints who answered, while the leader first loses
 * readiness and then has its server killed (found by the HTTP check, 1 s x 2).
 */
import { announceSkip } from "./capability.ts";
import { Cast, HTTP_CHECK } from "./cast.ts";
import type { ClientLog } from "./client_log.ts";
import { now } from "./failover.ts";
import { startLab } from "./lab.ts";

const say = (s: string) => console.log(`[demo] ${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prints the client's answers (time since `t0`, the pod or the error) for `ms`. */
async function showAnswers(client: ClientLog, t0: number, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    for (const r of await client.poll()) {
      const at = `${(r.s - t0 >= 0 ? "+" : "")}${(r.s - t0).toFixed(0)} ms`.padStart(10);
      console.log(`[client] ${at}  ${r.pod ? `answered by ${r.pod}` : `failed: ${r.err}`}`);
    }
  }
}

export async function runDataplaneDemo(opts: { once: boolean }): Promise<number> {
  const skip = announceSkip("the data-plane demo");
  if (skip) return 2;
  say("starting a control plane, kube-proxy (nftables) in a node namespace and zen-lead in its own...");
  await using lab = await startLab({ pods: 3 });
  const cast = await Cast.start(lab);
  const ip = await lab.createService({ "zen-lead.io/health-check": HTTP_CHECK });
  const first = await cast.leader();
  say(
    `3 pods (${
      [...cast.pods.values()].map((p) => `${p.name} ${p.slot.ip}`).join(", ")
    }), leader ${first.name}`,
  );
  say(`a client in ${lab.topology.client} opens a fresh connection to web-leader ${ip}:80 every 100 ms`);
  const client = lab.startClient("fresh", ip, 80, 100);
  await showAnswers(client, now(), 1500);

  say(`failing the leader: pod ${first.name} loses readiness`);
  let t0 = now();
  await lab.kubelet.setPodReady(lab.ns, first.name, false);
  await showAnswers(client, t0, 1500);
  const second = await cast.leader();
  await lab.kubelet.setPodReady(lab.ns, first.name, true);

  say(`killing the server of the new leader ${second.name} (the HTTP check, every 1 s, fails twice)`);
  t0 = now();
  await lab.killServer(second);
  await showAnswers(client, t0, 3500);
  const third = await cast.leader();
  say(`leader now: ${third.name}; every answer above after the switch came from the leader of that moment`);
  await lab.restartServer(second);

  if (!opts.once) {
    say(`kubeconfig: ${lab.cluster.kubeconfigPath}; namespace ${lab.ns}`);
    say("the client keeps running; press Ctrl-C to stop");
    const stop = new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGINT", () => resolve());
      Deno.addSignalListener("SIGTERM", () => resolve());
    });
    let stopped = false;
    stop.then(() => stopped = true);
    while (!stopped) await showAnswers(client, t0, 500);
  }
  say("stopping (namespaces, kube-proxy, servers and the control plane are removed)");
  return 0;
}
