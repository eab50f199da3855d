/** Convergence: how long until every Service of the fleet has its leader Service and a correct EndpointSlice. */
import type { Progress } from "./fleet.ts";
import type { FleetWatch } from "./fleet_watch.ts";
import { sleep } from "../core/time/sleep.ts";

export interface Convergence {
  /** From `since` to the arrival of the last change that made the fleet right. */
  seconds: number;
  /** Services still wrong at the deadline (empty when converged), with reasons. */
  wrong: { key: string; why: string }[];
}

/** Polls the watch's verdict until every leader is right or `timeoutS` passes; progress every 5 s. */
export async function waitForConvergence(
  watch: FleetWatch,
  total: number,
  since: number,
  timeoutS: number,
  progress: Progress,
): Promise<Convergence> {
  const deadline = since + timeoutS * 1000;
  let lastReport = performance.now();
  for (;;) {
    const wrong = watch.problems();
    if (wrong.length === 0) return { seconds: (watch.lastChangeAt() - since) / 1000, wrong };
    const now = performance.now();
    if (now > deadline) return { seconds: NaN, wrong };
    if (now - lastReport >= 5000) {
      lastReport = now;
      progress(`converged ${total - wrong.length}/${total} after ${((now - since) / 1000).toFixed(0)} s`);
    }
    await sleep(100);
  }
}
