/**
 * The engine's answers to writes whose outcome is unknown: a removal applied but answered with an
 * error still finishes after the re-read; no delete while the addresses are uncertain; the start's backoff
 * resets after parking; status is cleared for a Service removed before its claim was applied.
 */
import assert from "node:assert/strict";
import { ArmError } from "../../plugins/azure-servicegateway/arm/errors.ts";
import type { AddressLocation } from "../../plugins/azure-servicegateway/arm/shapes.ts";
import { flush, ScriptedApi, services, settleAll, settledWith, setup, svc } from "./azure_scripted_api.ts";

const noAnswer = () =>
  new ArmError("POST", "/updateAddressLocations", 0, "ETIMEDOUT", "no answer within 30000ms");
const at = (ip: string, node: string, service: string): AddressLocation[] => [
  { addressLocation: node, addresses: [{ address: ip, services: [service] }] },
];

Deno.test("engine: a removal applied but answered with an error finishes within one backoff step after the relist", async () => {
  const { api, engine, clock } = await settledWith(svc("u1", [["10.0.0.1", "192.168.0.1"]]));
  engine.remove("default/u1", "u1");
  await flush();
  const [removal] = api.open("updateAddressLocations");
  api.listing = []; // the gateway applied the removal ...
  removal.reject(noAnswer()); // ... and the answer was lost
  await flush();
  assert.equal(api.open("deleteService").length, 0, "uncertain: no delete yet");
  clock.tick(1_000); // one backoff step: the locations updater re-reads the gateway
  await flush();
  assert.equal(api.open("updateAddressLocations").length, 0, "the re-read shows nothing left to write");
  assert.equal(api.open("deleteService").length, 1, "the re-read woke the deletion");
  await settleAll(api);
  assert.deepEqual(services(engine), []);
  await engine.close();
});

Deno.test("engine: no delete while the addresses are uncertain (a reference-adding write failed but was applied)", async () => {
  const { api, engine, clock } = await settledWith(svc("u1", []));
  engine.apply(svc("u1", [["10.0.0.1", "192.168.0.1"]]));
  await flush();
  const [add] = api.open("updateAddressLocations");
  api.listing = at("10.0.0.1", "192.168.0.1", "zl-u1"); // applied ...
  add.reject(noAnswer()); // ... yet reported as failed
  await flush();
  engine.remove("default/u1", "u1");
  await flush();
  clock.tick(999);
  await flush();
  assert.equal(api.open("deleteService").length, 0, "the engine does not know what the gateway holds");
  clock.tick(1);
  await flush();
  const [removal] = api.open("updateAddressLocations");
  assert.deepEqual(
    removal.arg,
    { action: "FullUpdate", addressLocations: [] },
    "the re-read found the reference",
  );
  assert.equal(api.open("deleteService").length, 0);
  api.listing = [];
  removal.resolve();
  await flush();
  assert.equal(api.open("deleteService").length, 1);
  await settleAll(api);
  await engine.close();
});

Deno.test("engine: start retries 1, 2, 4, 8, 16, 30x6 s, parks 300 s, then starts a fresh series at 1 s", async () => {
  const api = new ScriptedApi();
  api.failStarts = 14;
  const { engine, clock } = setup(api);
  const started = engine.start();
  await flush();
  const gaps = [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 300, 1, 2].map((s) => s * 1000);
  for (const gap of gaps) {
    clock.tick(gap - 1);
    await flush();
    const before = api.startAttempts.length;
    clock.tick(1);
    await flush();
    assert.equal(api.startAttempts.length, before + 1, `an attempt exactly ${gap} ms after the previous one`);
  }
  await started;
  assert.equal(engine.isStarted, true);
  await engine.close();
});

Deno.test("engine: after a restart, a Service removed before its claim was applied gets ingress []", async () => {
  const api = new ScriptedApi();
  api.services = [{ name: "zl-u1", serviceType: "Inbound" }];
  api.listing = at("10.0.0.1", "192.168.0.1", "zl-u1");
  const { engine, statuses } = setup(api);
  await engine.start();
  engine.apply(svc("u1", [["10.0.0.1", "192.168.0.1"]])); // the claim: its update has not started yet
  engine.remove("default/u1", "u1");
  await settleAll(api);
  assert.deepEqual(services(engine), []);
  assert.deepEqual(statuses, [["default/u1", { ingress: [] }]], "the IP the last process wrote is cleared");
  await engine.close();
});

Deno.test("engine: a create that finished while removed, a failed delete, a re-add: the frontend IP is reported", async () => {
  const { api, engine, statuses, clock } = setup();
  await engine.start();
  engine.apply(svc("u1", []));
  await flush();
  engine.remove("default/u1", "u1");
  api.open("ensureService")[0].resolve({ frontendIP: "20.0.0.7" }); // created while removed: not reported
  await flush();
  engine.apply(svc("u1", [])); // wanted again while its delete runs
  api.open("deleteService")[0].reject(noAnswer());
  await flush();
  clock.tick(1_000); // its backoff
  await flush();
  api.open("ensureService")[0].resolve({ frontendIP: "20.0.0.7" }); // the same public IP, kept by the failed delete
  await flush();
  assert.deepEqual(statuses, [["default/u1", { ingress: [{ ip: "20.0.0.7" }] }]]);
  await engine.close();
});

Deno.test("engine: when one of the start's lists fails, the others are aborted, and the start retries", async () => {
  const api = new ScriptedApi();
  let aborted = 0;
  let failures = 1;
  api.listServices = () =>
    failures-- > 0 ? Promise.reject(new Error("list failed (scripted)")) : Promise.resolve([]);
  const slow = (signal: AbortSignal) =>
    new Promise<never>((_, reject) =>
      signal.addEventListener("abort", () => {
        aborted++;
        reject(signal.reason);
      }, { once: true })
    );
  const listAddressLocations = api.listAddressLocations.bind(api);
  const listOwnedResources = api.listOwnedResources.bind(api);
  api.listAddressLocations = (signal?: AbortSignal) => failures >= 0 ? slow(signal!) : listAddressLocations();
  api.listOwnedResources = (signal?: AbortSignal) => failures >= 0 ? slow(signal!) : listOwnedResources();
  const { engine, clock } = setup(api);
  const started = engine.start();
  await flush();
  assert.equal(aborted, 2, "both other lists were aborted when listServices failed");
  clock.tick(1_000);
  await started;
  assert.equal(engine.isStarted, true);
  await engine.close();
});
