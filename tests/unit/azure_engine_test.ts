/** The engine against a scripted GatewayApi and a manual clock: its races with ARM and the informers. */
import assert from "node:assert/strict";
import { ArmError } from "../../plugins/azure-servicegateway/arm/errors.ts";
import type { AddressLocationsRequest } from "../../plugins/azure-servicegateway/arm/shapes.ts";
import { flush, ScriptedApi, services, settleAll, settledWith, setup, svc } from "./azure_scripted_api.ts";

Deno.test("engine: endpoints before create are buffered in order and replayed; status follows creation", async () => {
  const { api, engine, statuses } = setup();
  await engine.start();
  engine.apply(svc("u1", [["10.0.0.1", "192.168.0.1"]]));
  await flush();
  engine.apply(svc("u1", [["10.0.0.2", "192.168.0.2"]])); // failover before the create finished
  await flush();
  const buffered = engine.debugBuffered() as {
    total: number;
    services: Record<string, { op: string; podIP: string }[]>;
  };
  assert.deepEqual(buffered.services["zl-u1"].map((c) => `${c.op} ${c.podIP}`), [
    "add 10.0.0.1",
    "remove 10.0.0.1",
    "add 10.0.0.2",
  ]);
  assert.equal(
    api.open("updateAddressLocations").length,
    0,
    "no address may reference a service not created",
  );
  api.open("ensureService")[0].resolve({ frontendIP: "20.0.0.7" });
  await flush();
  assert.equal((engine.debugBuffered() as { total: number }).total, 0);
  const [sync] = api.open("updateAddressLocations");
  assert.deepEqual((sync.arg as AddressLocationsRequest).addressLocations.flatMap((l) => l.addresses), [
    { address: "10.0.0.2", services: ["zl-u1"] },
  ]);
  assert.deepEqual(statuses, [["default/u1", { ingress: [{ ip: "20.0.0.7" }] }]]);
  sync.resolve();
  await flush();
  assert.deepEqual((engine.debugServices().locations as { azure: unknown }).azure, {
    "192.168.0.2": { "10.0.0.2": ["zl-u1"] },
  });
  await engine.close();
});

Deno.test("engine: delete during create deletes once the create completes, and nothing leaks", async () => {
  const { api, engine, registry } = setup();
  await engine.start();
  engine.apply(svc("u1", [["10.0.0.1", "192.168.0.1"]]));
  await flush();
  engine.remove("default/u1", "u1");
  await flush();
  assert.equal(services(engine)[0].state, "CreationInProgress");
  api.open("ensureService")[0].resolve({ frontendIP: "20.0.0.1" });
  await flush();
  assert.equal(api.open("updateAddressLocations").length, 0, "the removed service's address never goes out");
  const [del] = api.open("deleteService");
  assert.equal(del.arg, "zl-u1");
  del.resolve();
  await flush();
  assert.deepEqual(services(engine), []);
  assert.equal(
    registry.render().includes('engine_service_operations_total{operation="delete",status="success"} 1'),
    true,
  );
  await engine.close();
});

Deno.test("engine: the last egress pod removes its address first, then the egress service", async () => {
  const { api, engine } = setup();
  await engine.start();
  engine.addPod({ uid: "p1", ip: "10.0.0.1", nodeIP: "192.168.0.1", egress: "e1" });
  engine.addPod({ uid: "p2", ip: "10.0.0.2", nodeIP: "192.168.0.1", egress: "e1" });
  await settleAll(api);
  const azure = () => (engine.debugServices().locations as { azure: Record<string, unknown> }).azure;
  assert.deepEqual(azure(), {
    "192.168.0.1": { "10.0.0.1": ["zl-egress-e1"], "10.0.0.2": ["zl-egress-e1"] },
  });
  engine.deletePod("p1");
  await settleAll(api);
  assert.deepEqual(azure(), { "192.168.0.1": { "10.0.0.2": ["zl-egress-e1"] } });
  assert.equal(services(engine)[0].state, "Created");
  engine.deletePod("p2");
  await flush();
  assert.equal(api.open("deleteService").length, 0, "the service waits while an address references it");
  assert.equal(api.open("updateAddressLocations").length, 1);
  api.open("updateAddressLocations")[0].resolve();
  await flush();
  assert.equal(api.open("deleteService").length, 1);
  await settleAll(api);
  assert.deepEqual(services(engine), []);
  assert.deepEqual(azure(), {});
  await engine.close();
});

Deno.test("engine: a failed operation reported as 200 on the poll is retried with backoff, not Created", async () => {
  const { api, engine, clock, registry, statuses } = setup();
  await engine.start();
  engine.apply(svc("u1", [["10.0.0.1", "192.168.0.1"]]));
  await flush();
  api.open("ensureService")[0].reject(
    new ArmError("PUT", "/x", 200, "InternalServerError", "operation Failed"),
  );
  await flush();
  assert.equal(services(engine)[0].state, "NotStarted");
  assert.equal(api.open().length, 0);
  assert.deepEqual(statuses, []);
  clock.tick(999);
  await flush();
  assert.equal(api.open("ensureService").length, 0, "backoff of 1 s holds");
  clock.tick(1);
  await flush();
  assert.equal(api.open("ensureService").length, 1);
  assert.equal(registry.render().includes('engine_operation_retries_total{operation="create"} 1'), true);
  await settleAll(api);
  assert.equal(services(engine)[0].state, "Created");
  assert.equal(statuses.length, 1);
  await engine.close();
});

Deno.test("engine: a 400 parks the step visibly (metric, Warning status, debug); a changed spec tries again", async () => {
  const { api, engine, clock, registry, statuses } = setup();
  await engine.start();
  engine.apply(svc("u1", []));
  await flush();
  api.open("ensureService")[0].reject(new ArmError("PUT", "/x", 400, "InvalidRequest", "bad"));
  await flush();
  clock.tick(299_999);
  await flush();
  assert.equal(api.open().length, 0, "parked: no retry before parkMs");
  const rec =
    (engine.debugServices().services as { terminalError?: string; parked: boolean; retryAt?: string }[])[0];
  assert.match(String(rec.terminalError), /400/);
  assert.equal(rec.parked, true);
  assert.ok(rec.retryAt);
  assert.match(registry.render(), /engine_operations_parked_total\{operation="create",reason="rejected"\} 1/);
  const warning = statuses.find(([, s]) => s.warning)?.[1].warning;
  assert.equal(warning?.reason, "ServiceGatewayOperationParked");
  assert.match(String(warning?.message), /create of zl-u1 parked until .*ARM refused the request/);
  engine.apply({ ...svc("u1", []), ports: [{ port: 81, targetPort: 8081, protocol: "TCP" }] });
  await flush();
  assert.equal(api.open("ensureService").length, 1);
  await settleAll(api);
  await engine.close();
});

Deno.test("engine: a 400 on the delete step parks it and retries after parkMs: the service does not leak", async () => {
  const { api, engine, clock } = await settledWith(svc("u1", []));
  engine.remove("default/u1", "u1");
  await flush();
  api.open("deleteService")[0].reject(new ArmError("POST", "/x", 400, "InvalidRequest", "refused"));
  await flush();
  assert.equal(services(engine)[0].state, "DeletionPending");
  clock.tick(300_000);
  await flush();
  assert.equal(api.open("deleteService").length, 1, "retried after parking");
  await settleAll(api);
  assert.deepEqual(services(engine), []);
  await engine.close();
});

Deno.test("engine: at most 10 service operations in flight", async () => {
  const { api, engine } = setup();
  await engine.start();
  for (let i = 0; i < 15; i++) engine.apply(svc(`u${i}`, []));
  await flush();
  assert.equal(api.open("ensureService").length, 10);
  api.open("ensureService")[0].resolve({ frontendIP: "20.0.0.1" });
  await flush();
  assert.equal(api.open("ensureService").length, 10);
  await settleAll(api);
  assert.equal(services(engine).filter((s) => s.state === "Created").length, 15);
  await engine.close();
});

Deno.test("engine: the locations updater is single-flight and coalesces changes", async () => {
  const { api, engine } = setup();
  await engine.start();
  engine.apply(svc("u1", [["10.0.0.1", "192.168.0.1"]]));
  await settleAll(api, 1);
  await flush();
  assert.equal(api.open("updateAddressLocations").length, 1);
  for (let i = 2; i < 6; i++) engine.apply(svc("u1", [[`10.0.0.${i}`, "192.168.0.1"]]));
  await flush();
  assert.equal(api.open("updateAddressLocations").length, 1, "one sync at a time");
  api.open("updateAddressLocations")[0].resolve();
  await flush();
  const open = api.open("updateAddressLocations");
  assert.equal(open.length, 1, "the changes made meanwhile go in one request");
  // Replacing the one location whole is smaller than removing .1 and adding .5, so it goes as a FullUpdate.
  assert.deepEqual(open[0].arg, {
    action: "FullUpdate",
    addressLocations: [{
      addressLocation: "192.168.0.1",
      addressUpdateAction: "FullUpdate",
      addresses: [{ address: "10.0.0.5", services: ["zl-u1"] }],
    }],
  });
  await settleAll(api);
  await engine.close();
});

Deno.test("engine: restart adopts the gateway; claimed services keep traffic, orphans go after resync", async () => {
  const api = new ScriptedApi();
  api.services = [
    { name: "zl-u1", serviceType: "Inbound" },
    { name: "zl-u2", serviceType: "Inbound" },
    { name: "someone-else", serviceType: "Inbound" },
  ];
  api.listing = [{
    addressLocation: "192.168.0.1",
    addresses: [{ address: "10.0.0.1", services: ["zl-u1"] }, { address: "10.0.0.9", services: ["zl-u2"] }],
  }];
  const { engine, statuses } = setup(api);
  await engine.start();
  await flush();
  assert.equal(api.open().length, 0, "nothing is touched during the grace period");
  engine.apply(svc("u1", [["10.0.0.1", "192.168.0.1"]]));
  await flush();
  const [ensure] = api.open("ensureService");
  assert.equal((ensure.arg as { name: string }).name, "zl-u1", "the claimed service's spec is re-applied");
  ensure.resolve({ frontendIP: "20.0.0.1" });
  await flush();
  assert.equal(api.open("updateAddressLocations").length, 0, "the claimed leader was already there");
  assert.deepEqual(statuses, [["default/u1", { ingress: [{ ip: "20.0.0.1" }] }]]);
  engine.resyncDone();
  await flush();
  const [sync] = api.open("updateAddressLocations");
  assert.deepEqual((sync.arg as AddressLocationsRequest).addressLocations.flatMap((l) => l.addresses), [
    { address: "10.0.0.9" },
  ]);
  assert.equal(api.open("deleteService").length, 0);
  sync.resolve();
  await flush();
  const [del] = api.open("deleteService");
  assert.equal(del.arg, "zl-u2");
  await settleAll(api);
  assert.deepEqual(services(engine).map((s) => s.name), ["zl-u1"]);
  await engine.close();
});

Deno.test("engine: close drains in-flight work within its bound, then aborts it", async () => {
  const { api, engine, clock } = setup();
  await engine.start();
  engine.apply(svc("u1", []));
  await flush();
  const [call] = api.open("ensureService");
  let closed = false;
  const closing = engine.close().then(() => closed = true);
  await flush();
  assert.equal(closed, false, "waits for the operation");
  clock.tick(5_000);
  await closing;
  assert.equal(call.done, true, "the operation was aborted at the drain bound");
  engine.apply(svc("u2", []));
  await flush();
  assert.equal(api.calls.length, 1, "no new work after close");
});
