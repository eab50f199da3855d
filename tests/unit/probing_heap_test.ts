/** The probe scheduler's min-heap: time order and `retain`. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { MinHeap } from "../../core/probing/heap.ts";

Deno.test("property: pops come out in time order, whatever the push order", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }), (times) => {
      const heap = new MinHeap<{ at: number }>();
      for (const at of times) heap.push({ at });
      assert.equal(heap.size, times.length);
      const out: number[] = [];
      for (let item = heap.pop(); item; item = heap.pop()) out.push(item.at);
      assert.deepEqual(out, [...times].sort((a, b) => a - b));
    }),
  );
});

Deno.test("retain drops entries and keeps the heap order", () => {
  const heap = new MinHeap<{ at: number; live: boolean }>();
  [5, 1, 4, 2, 3].forEach((at) => heap.push({ at, live: at % 2 === 1 }));
  heap.retain((i) => i.live);
  assert.equal(heap.peek()?.at, 1);
  assert.deepEqual([heap.pop()?.at, heap.pop()?.at, heap.pop()?.at, heap.pop()], [1, 3, 5, undefined]);
});
