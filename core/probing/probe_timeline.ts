/** When probes run: due checks and check deadlines in two min-heaps behind the scheduler's one timer. */
import { MinHeap } from "./heap.ts";
import type { Entry, Probe } from "./probe_entry.ts";
import type { Clock, TimerHandle } from "../time/clock.ts";

interface DueItem {
  at: number;
  entry: Entry;
  gen: number;
}

interface DeadlineItem {
  at: number;
  probe: Probe;
}

const dueValid = (i: DueItem) => !i.entry.removed && i.gen === i.entry.gen;
const deadlineValid = (i: DeadlineItem) => !i.probe.settled;

function validTop<T extends { at: number }>(heap: MinHeap<T>, valid: (item: T) => boolean): T | undefined {
  for (let top = heap.peek(); top; top = heap.peek()) {
    if (valid(top)) return top;
    heap.pop();
  }
  return undefined;
}

export class ProbeTimeline {
  private readonly due = new MinHeap<DueItem>();
  private readonly deadlines = new MinHeap<DeadlineItem>();
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;

  /** `onTimer` runs when the timer fires (the scheduler's pump). */
  constructor(private readonly clock: Clock, private readonly onTimer: () => void) {}

  /** Whether the one timer is armed. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Makes `at` the entry's next due time; `live` is how many entries are registered. */
  schedule(entry: Entry, at: number, live: number): void {
    entry.gen++;
    entry.nextDue = at;
    this.due.push({ at, entry, gen: entry.gen });
    // Rescheduled and removed entries leave stale items; compact before they outnumber live ones.
    if (this.due.size > 2 * live + 1024) {
      this.due.retain(dueValid);
    }
  }

  addDeadline(at: number, probe: Probe): void {
    this.deadlines.push({ at, probe });
  }

  /** Takes the earliest unsettled probe whose deadline is at or before `now`. */
  takeExpired(now: number): Probe | undefined {
    const d = validTop(this.deadlines, deadlineValid);
    if (!d || d.at > now) return undefined;
    this.deadlines.pop();
    return d.probe;
  }

  /** Takes the earliest live due check at or before `now`. */
  takeDue(now: number): { entry: Entry; at: number } | undefined {
    const item = validTop(this.due, dueValid);
    if (!item || item.at > now) return undefined;
    this.due.pop();
    return item;
  }

  /** Arms the one timer for the earliest deadline, or the earliest due probe when `slotFree`. */
  arm(slotFree: boolean): void {
    let at = validTop(this.deadlines, deadlineValid)?.at ?? Infinity;
    if (slotFree) {
      at = Math.min(at, validTop(this.due, dueValid)?.at ?? Infinity);
    }
    if (at === Infinity) {
      if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.onTimer();
    }, at - this.clock.now());
  }

  /** Clears the timer for good (the scheduler closed). */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
