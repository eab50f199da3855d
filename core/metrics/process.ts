/**
 * Process metrics of the controller itself: resident memory, V8 heap and CPU seconds, refreshed on a timer so
 * that a scrape (or the benchmark) reads the controller's own footprint without access to its /proc.
 */
import process from "node:process";
import type { MetricsRegistry } from "./registry.ts";
import { safeInterval } from "../timers.ts";

/** Registers the process gauges and keeps them fresh every `intervalMs`; returns a function that stops it. */
export function startProcessMetrics(registry: MetricsRegistry, intervalMs = 2000): () => void {
  const rss = registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size of the controller process in bytes.",
  });
  const heapUsed = registry.gauge({
    name: "zen_lead_heap_used_bytes",
    help: "V8 heap in use by the controller, in bytes.",
  });
  const heapTotal = registry.gauge({
    name: "zen_lead_heap_total_bytes",
    help: "V8 heap reserved by the controller, in bytes.",
  });
  const cpu = registry.counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time spent by the controller process, in seconds.",
  });
  let cpuSeen = 0;
  const refresh = () => {
    const mem = Deno.memoryUsage();
    rss.set(undefined, mem.rss);
    heapUsed.set(undefined, mem.heapUsed);
    heapTotal.set(undefined, mem.heapTotal);
    const usage = process.cpuUsage();
    const seconds = (usage.user + usage.system) / 1e6;
    // A counter only grows: add what was spent since the last refresh.
    if (seconds > cpuSeen) cpu.inc(undefined, seconds - cpuSeen);
    cpuSeen = Math.max(cpuSeen, seconds);
  };
  refresh();
  const timer = safeInterval(refresh, intervalMs);
  // Metrics alone must never keep the process alive.
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
