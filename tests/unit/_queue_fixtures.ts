/** WorkQueue options shared by the queue's unit tests. */
import { RootLogger } from "../../core/log.ts";
import type { MetricsRegistry } from "../../core/metrics/registry.ts";
import type { ManualClock } from "../_clock.ts";
import type { WorkHandler, WorkQueue } from "../../core/queue/workqueue.ts";

type QueueOptions = ConstructorParameters<typeof WorkQueue>[0];

/** Queue `name`: silent, on the manual `clock`, backoff 100 ms doubling to 1 s without jitter. */
export function testQueueOptions(
  name: string,
  workers: number,
  handler: WorkHandler,
  clock: ManualClock,
  metrics: MetricsRegistry,
): QueueOptions {
  return {
    name,
    workers,
    handler,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    logger: new RootLogger("error", () => {}),
    metrics,
    clock,
    random: () => 0,
  };
}
