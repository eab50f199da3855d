/**
 * The azure-servicegateway backend against the local ARM emulator: every long-running-operation shape, scripted
 * faults and throttling bursts. Random operation sequences under faults and restarts are in
 * azure_sequences_test.ts.
 */
import assert from "node:assert/strict";
import type { BackendServiceState } from "../../core/plugin/types.ts";
import { ArmClient } from "../../plugins/azure-servicegateway/arm/client.ts";
import { StaticTokenCredential } from "../../plugins/azure-servicegateway/arm/credential.ts";
import { ArmError } from "../../plugins/azure-servicegateway/arm/errors.ts";
import { ServiceGatewayOps } from "../../plugins/azure-servicegateway/arm/gateway_ops.ts";
import { type ArmEmulator, RESPONSE_MODES, startArmEmulator } from "../emulators/arm/emulator.ts";
import { API_VERSION, type Backend, startBackend, TOKEN, waitUntil } from "./azure_helpers.ts";

const nodeOf = (podIP: string) => `192.168.0.${(Number(podIP.split(".")[3]) % 3) + 1}`;

function service(uid: string, podIPs: readonly string[], port = 80): BackendServiceState {
  return {
    key: `default/svc-${uid}`,
    uid,
    ports: [{ name: "http", port, targetPort: 8080, protocol: "TCP" }],
    leaders: podIPs.map((ip) => ({
      podName: `pod-${ip}`,
      podUID: `uid-${ip}`,
      podIP: ip,
      nodeIP: nodeOf(ip),
    })),
  };
}

function opsFor(emulator: ArmEmulator) {
  const client = new ArmClient({
    endpoint: emulator.url,
    apiVersion: API_VERSION,
    credential: new StaticTokenCredential(TOKEN),
    requestTimeoutMs: 300,
    lroTimeoutMs: 2_000,
    pollIntervalMs: 1,
    maxRetries: 0,
    retryDelayMs: 1,
    maxRetryDelayMs: 5,
    maxThrottleWaitMs: 3_000,
    throttleAttempts: 3,
  });
  const at = {
    subscriptionId: "sub",
    resourceGroup: "rg",
    serviceGatewayName: "sgw",
    virtualNetworkName: "vnet",
    location: "westeurope",
    createGateway: false,
  };
  return { client, ops: new ServiceGatewayOps(client, at) };
}

for (const mode of RESPONSE_MODES) {
  Deno.test(`arm client (${mode}): create, list and delete a service through the LRO shape`, async () => {
    const emulator = startArmEmulator({ token: TOKEN, apiVersion: API_VERSION, pollsBeforeDone: 2 });
    emulator.setMode("*", mode);
    try {
      const { ops } = opsFor(emulator);
      const signal = AbortSignal.timeout(5_000);
      const { frontendIP } = await ops.ensureService({ kind: "inbound", name: "zl-a", ports: [] }, signal);
      assert.match(frontendIP ?? "", /^20\.0\./);
      assert.deepEqual((await ops.listServices(signal)).map((s) => s.name), ["zl-a"]);
      await ops.deleteService("zl-a", "inbound", signal);
      const s = emulator.state();
      assert.deepEqual([s.services, s.publicIPs, s.loadBalancers], [{}, {}, {}]);
      const polls = emulator.requests.filter((r) => r.route === "operations").length;
      assert.equal(polls > 0, mode !== "sync", `polls in mode ${mode}: ${polls}`);
    } finally {
      await emulator.close();
    }
  });
}

Deno.test("arm client: a Failed status on an HTTP 200 poll is an error, and nothing was applied", async () => {
  const emulator = startArmEmulator({ token: TOKEN });
  emulator.script([{
    route: "publicIPAddresses",
    method: "PUT",
    kind: "pollFailed",
    code: "AllocationFailed",
  }]);
  try {
    const { ops } = opsFor(emulator);
    await assert.rejects(
      ops.ensureService({ kind: "outbound", name: "zl-egress-e" }, AbortSignal.timeout(5_000)),
      (e) => e instanceof ArmError && e.status === 200 && e.code === "AllocationFailed" && !e.terminal,
    );
    assert.deepEqual(emulator.state().publicIPs, {});
  } finally {
    await emulator.close();
  }
});

Deno.test("arm client: 429 closes the gate for Retry-After (seconds, then HTTP date) per request class", async () => {
  const emulator = startArmEmulator({ token: TOKEN });
  const httpDate = new Date(Date.now() + 3_500).toUTCString();
  emulator.script([
    { route: "publicIPAddresses", method: "PUT", status: 429, retryAfter: "1" },
    { route: "services", method: "GET", status: 429, retryAfter: httpDate },
  ]);
  try {
    const { client, ops } = opsFor(emulator);
    const signal = AbortSignal.timeout(10_000);
    const started = Date.now();
    await ops.ensureService({ kind: "outbound", name: "zl-egress-e" }, signal);
    const writeWait = Date.now() - started;
    assert.equal(client.gate.remaining("read"), 0, "a write's 429 leaves reads alone");
    await ops.listServices(signal);
    const writes = emulator.requests.filter((r) => r.route === "publicIPAddresses" && r.method === "PUT");
    assert.equal(writes.length, 2);
    assert.ok(writes[1].at - writes[0].at >= 950, `retried after ${writes[1].at - writes[0].at}ms`);
    const reads = emulator.requests.filter((r) => r.route === "services");
    assert.ok(reads[1].at - reads[0].at >= 1_000, `read retried after ${reads[1].at - reads[0].at}ms`);
    console.log(`throttled write waited ${writeWait}ms; read ${reads[1].at - reads[0].at}ms`);
  } finally {
    await emulator.close();
  }
});

Deno.test("arm client: a hung request times out; the wrong api-version is a terminal 400", async () => {
  const emulator = startArmEmulator({ token: TOKEN });
  const strict = startArmEmulator({ token: TOKEN, apiVersion: "2099-01-01" });
  emulator.script([{ route: "services", kind: "hang" }]);
  try {
    await assert.rejects(
      opsFor(emulator).ops.listServices(AbortSignal.timeout(5_000)),
      (e) => e instanceof ArmError && e.status === 0 && /no answer within 300ms/.test(e.message),
    );
    await assert.rejects(
      opsFor(strict).ops.listServices(AbortSignal.timeout(5_000)),
      (e) =>
        e instanceof ArmError && e.status === 400 && e.terminal && e.code === "InvalidApiVersionParameter",
    );
  } finally {
    await emulator.close();
    await strict.close();
  }
});

// ---- the engine through the plugin ----

interface Desired {
  services: Map<string, string[]>;
  egress: Map<string, { ip: string; egress: string }>;
}

function expectedGateway(d: Desired) {
  const services = new Set<string>();
  const byPod = new Map<string, Set<string>>();
  const add = (svc: string, ip: string) => {
    services.add(svc);
    if (!byPod.has(ip)) byPod.set(ip, new Set());
    byPod.get(ip)!.add(svc);
  };
  for (const [uid, ips] of d.services) {
    services.add(`zl-${uid}`);
    for (const ip of ips) add(`zl-${uid}`, ip);
  }
  for (const p of d.egress.values()) add(`zl-egress-${p.egress}`, p.ip);
  const locations: Record<string, Record<string, string[]>> = {};
  for (const ip of [...byPod.keys()].sort()) {
    const node = nodeOf(ip);
    locations[node] ??= {};
    locations[node][ip] = [...byPod.get(ip)!].sort();
  }
  const sorted: Record<string, Record<string, string[]>> = {};
  for (const n of Object.keys(locations).sort()) sorted[n] = locations[n];
  return { services: [...services].sort(), locations: sorted };
}

/** The gateway and every network resource: one public IP per service, an LB per inbound, a NAT per egress. */
function observed(emulator: ArmEmulator) {
  const s = emulator.state();
  return {
    services: Object.keys(s.services).sort(),
    locations: s.addressLocations,
    publicIPs: Object.keys(s.publicIPs).sort(),
    loadBalancers: Object.keys(s.loadBalancers).sort(),
    natGateways: Object.keys(s.natGateways).sort(),
  };
}

function expectedResources(d: Desired) {
  const g = expectedGateway(d);
  return {
    ...g,
    publicIPs: g.services.map((n) => `${n}-pip`).sort(),
    loadBalancers: g.services.filter((n) => !n.startsWith("zl-egress-")).map((n) => `${n}-lb`),
    natGateways: g.services.filter((n) => n.startsWith("zl-egress-")).map((n) => `${n}-nat`),
  };
}

async function converge(emulator: ArmEmulator, backend: Backend, d: Desired, timeoutMs = 10_000) {
  const want = expectedResources(d);
  const ok = await waitUntil(
    () => !backend.engine.busy && JSON.stringify(observed(emulator)) === JSON.stringify(want),
    timeoutMs,
  );
  // No lost and no leaked services, addresses or network resources.
  assert.deepEqual(observed(emulator), want, ok ? "" : JSON.stringify(backend.engine.debugServices()));
  const s = emulator.state();
  // Status: every present Service reports its own public IP.
  for (const uid of d.services.keys()) {
    const ip = s.publicIPs[`zl-${uid}-pip`]?.properties.ipAddress;
    assert.ok(
      await waitUntil(() => backend.statuses.get(`default/svc-${uid}`)?.ingress[0]?.ip === ip, 2_000),
    );
  }
  assert.equal(Object.values(s.services).some((x) => !x.name.startsWith("zl-")), false);
  assert.equal(
    emulator.requests.some((r) => r.status === 409 && r.fault === undefined),
    false,
    "ServiceInUse",
  );
}

for (const mode of RESPONSE_MODES) {
  Deno.test(`engine (${mode}): apply, failover, egress and remove; status follows`, async () => {
    const emulator = startArmEmulator({ token: TOKEN, apiVersion: API_VERSION });
    emulator.setMode("*", mode);
    const backend = await startBackend(emulator);
    try {
      const d: Desired = { services: new Map(), egress: new Map() };
      d.services.set("a", ["10.0.0.1"]);
      backend.engine.apply(service("a", ["10.0.0.1"]));
      await converge(emulator, backend, d);
      const t0 = performance.now();
      d.services.set("a", ["10.0.0.2"]);
      backend.engine.apply(service("a", ["10.0.0.2"]));
      await converge(emulator, backend, d);
      console.log(`${mode}: failover moved the gateway address in ${(performance.now() - t0).toFixed(1)}ms`);
      d.egress.set("p9", { ip: "10.0.0.9", egress: "out" });
      backend.engine.addPod({ uid: "p9", ip: "10.0.0.9", nodeIP: nodeOf("10.0.0.9"), egress: "out" });
      await converge(emulator, backend, d);
      d.services.delete("a");
      d.egress.delete("p9");
      backend.engine.remove("default/svc-a", "a");
      backend.engine.deletePod("p9");
      await converge(emulator, backend, d);
      assert.deepEqual(backend.statuses.get("default/svc-a"), { ingress: [] });
      const text = backend.registry.render();
      assert.match(text, /engine_service_operations_total\{operation="create",status="success"\} 2/);
      assert.match(text, /engine_locations_sync_total\{status="success"\} \d+/);
    } finally {
      await backend.close();
      await emulator.close();
    }
  });
}

Deno.test("engine: throttling burst on writes and reads converges and is counted", async () => {
  const emulator = startArmEmulator({ token: TOKEN, apiVersion: API_VERSION });
  emulator.script([
    { method: "PUT", status: 429, retryAfter: "1", times: 3 },
    { route: "updateAddressLocations", status: 429, retryAfter: "1", times: 2 },
    { route: "addressLocations", status: 429, retryAfter: "1" },
  ]);
  const backend = await startBackend(emulator);
  try {
    const d: Desired = { services: new Map(), egress: new Map() };
    for (let i = 1; i <= 6; i++) {
      d.services.set(`t${i}`, [`10.0.1.${i}`]);
      backend.engine.apply(service(`t${i}`, [`10.0.1.${i}`]));
    }
    await converge(emulator, backend, d, 20_000);
    assert.equal(emulator.pendingFaults(), 0);
    const text = backend.registry.render();
    const throttled = Number(/engine_arm_throttled_total\{class="write"\} (\d+)/.exec(text)?.[1] ?? 0);
    assert.ok(throttled >= 5, `write throttles counted: ${throttled}`);
  } finally {
    await backend.close();
    await emulator.close();
  }
});
