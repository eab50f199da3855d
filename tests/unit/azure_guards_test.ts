/**
 * Guards: the engine's invariants under random operations, random answers (success, 5xx, no answer, 400,
 * Failed on a 200 poll) and simulated time, checked after every step: one operation per service at a time, at
 * most maxInFlight, one address write at a time, nothing after close() (no call, no timer); and the parking
 * gaps of a service operation. The other guards of the engine live beside the behaviour they guard:
 * delete-during-create, endpoints-before-create buffering, the last egress pod, Failed-on-200 polls and the
 * drain bound in azure_engine_test.ts; Retry-After in azure_emulator_test.ts and azure_state_test.ts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ArmError } from "../../plugins/azure-servicegateway/arm/errors.ts";
import { flush, ScriptedApi, settleAll, setup, svc } from "./azure_scripted_api.ts";

/** Lets the engine's promise chains run: the scripted API and the manual clock need no macrotask. */
const tick = async () => {
  for (let i = 0; i < 40; i++) await null;
};

type Action =
  | { a: "apply"; uid: string; pods: number[]; port: number }
  | { a: "remove"; uid: string }
  | { a: "pod"; pod: number; egress?: string }
  | { a: "answer"; pick: number; how: "ok" | "500" | "timeout" | "400" | "failed200" }
  | { a: "advance"; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    a: fc.constant("apply" as const),
    uid: fc.constantFrom("a", "b", "c", "d"),
    pods: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 2 }),
    port: fc.constantFrom(80, 81),
  }),
  fc.record({ a: fc.constant("remove" as const), uid: fc.constantFrom("a", "b", "c", "d") }),
  fc.record({
    a: fc.constant("pod" as const),
    pod: fc.integer({ min: 1, max: 4 }),
    egress: fc.option(fc.constantFrom("e1", "e2"), { nil: undefined }),
  }),
  {
    arbitrary: fc.record({
      a: fc.constant("answer" as const),
      pick: fc.nat(20),
      how: fc.constantFrom("ok", "ok", "ok", "500", "timeout", "400", "failed200"),
    }),
    weight: 4,
  },
  fc.record({
    a: fc.constant("advance" as const),
    ms: fc.constantFrom(1, 500, 1_000, 5_000, 30_000, 300_000),
  }),
);

const errorOf = (how: string) =>
  how === "500"
    ? new ArmError("PUT", "/x", 500, "InternalServerError", "scripted")
    : how === "timeout"
    ? new ArmError("POST", "/x", 0, "ETIMEDOUT", "no answer within 30000ms")
    : how === "400"
    ? new ArmError("PUT", "/x", 400, "InvalidRequest", "scripted")
    : new ArmError("PUT", "/x", 200, "InternalServerError", "operation Failed");

Deno.test("guards (property, simulated time): 500 random runs keep every invariant, and nothing runs after close()", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), async (actions) => {
      const api = new ScriptedApi();
      const { engine, clock } = setup(api, { maxInFlight: 2 });
      await engine.start();
      engine.resyncDone();
      const check = (when: string) => {
        const ops = api.open().filter((c) => c.method !== "updateAddressLocations");
        assert.ok(ops.length <= 2, `${when}: ${ops.length} operations in flight, maxInFlight 2`);
        const names = ops.map((c) => c.method === "ensureService" ? (c.arg as { name: string }).name : c.arg);
        assert.equal(new Set(names).size, names.length, `${when}: two operations on one service`);
        assert.ok(api.open("updateAddressLocations").length <= 1, `${when}: two address writes at once`);
      };
      for (const [i, s] of actions.entries()) {
        if (s.a === "apply") {
          engine.apply(svc(s.uid, s.pods.map((n) => [`10.0.0.${n}`, `192.168.0.${n % 2}`])));
        } else if (s.a === "remove") engine.remove(`default/${s.uid}`, s.uid);
        else if (s.a === "pod") {
          engine.updatePod({
            uid: `p${s.pod}`,
            ip: `10.0.1.${s.pod}`,
            nodeIP: "192.168.0.9",
            egress: s.egress,
          });
        } else if (s.a === "answer") {
          const open = api.open();
          const c = open[s.pick % Math.max(1, open.length)];
          if (c && s.how === "ok") {
            c.resolve(c.method === "ensureService" ? { frontendIP: api.nextIP() } : undefined);
          } else if (c) c.reject(errorOf(s.how));
        } else clock.tick(s.ms);
        await tick();
        check(`after step ${i} (${s.a})`);
      }
      const closing = engine.close();
      clock.tick(5_000); // the drain bound
      await closing;
      assert.equal(api.open().length, 0, "close() aborted what it did not drain");
      assert.equal(clock.pending, 0, "no timer left after close()");
      const calls = api.calls.length;
      engine.apply(svc("z", []));
      clock.tick(600_000);
      await tick();
      assert.equal(api.calls.length, calls, "no call after close()");
    }),
    { numRuns: 500 },
  );
});

Deno.test("guards: a failing service operation waits 1, 2, 4, 8, 16, 30x6 s, is parked 300 s, then starts over at 1 s", async () => {
  const { api, engine, clock } = setup();
  await engine.start();
  engine.apply(svc("u1", []));
  await flush();
  const gaps = [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 300, 1, 2].map((s) => s * 1000);
  for (const gap of gaps) {
    api.open("ensureService")[0].reject(new ArmError("PUT", "/x", 503, "ServerBusy", "scripted"));
    await flush();
    clock.tick(gap - 1);
    await flush();
    assert.equal(api.open("ensureService").length, 0, `no attempt before ${gap} ms`);
    clock.tick(1);
    await flush();
    assert.equal(api.open("ensureService").length, 1, `an attempt at ${gap} ms`);
  }
  const parked = (engine.debugServices().services as { parked: boolean }[])[0];
  assert.equal(parked.parked, false, "attempting again: no longer parked");
  await settleAll(api);
  await engine.close();
});
