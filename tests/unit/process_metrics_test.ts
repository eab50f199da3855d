import assert from "node:assert/strict";
import { MetricsRegistry } from "../../core/metrics/registry.ts";
import { startProcessMetrics } from "../../core/metrics/process.ts";

Deno.test("process metrics: resident memory, heap and CPU seconds of this process are exported", () => {
  const registry = new MetricsRegistry();
  const stop = startProcessMetrics(registry, 60_000);
  try {
    const text = registry.render();
    const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
    assert.ok(value("process_resident_memory_bytes") > 1_000_000, text);
    assert.ok(value("zen_lead_heap_used_bytes") > 0, text);
    assert.ok(value("zen_lead_heap_total_bytes") >= value("zen_lead_heap_used_bytes"), text);
    assert.ok(value("process_cpu_seconds_total") > 0, text);
  } finally {
    stop();
  }
});

Deno.test("process metrics: registering twice reuses the same series", () => {
  const registry = new MetricsRegistry();
  const stopA = startProcessMetrics(registry, 60_000);
  const stopB = startProcessMetrics(registry, 60_000);
  stopA();
  stopB();
  const text = registry.render();
  assert.equal(text.match(/^process_resident_memory_bytes /gm)?.length, 1);
});
