/**
 * Over the real HTTP stack against the ARM emulator: a removal whose write was applied but failed (an error
 * after applying, a hang after applying, a hang on its poll) finishes right after the re-read, in every response
 * mode; and the reconciliation repairs a lost, a leaked and a wrong-port service made behind the engine's back.
 */
import assert from "node:assert/strict";
import type { BackendServiceState } from "../../core/plugin/types.ts";
import {
  type Fault,
  RESPONSE_MODES,
  type ResponseMode,
  startArmEmulator,
} from "../emulators/arm/emulator.ts";
import { API_VERSION, startBackend, TEST_TIMEOUTS, TOKEN, waitUntil } from "./azure_helpers.ts";

const BACKOFF_STEP_MS = 40 * 1.2; // backoff.maxMs with its jitter: the longest single step in azure_helpers

function service(uid: string, pods: string[], port = 80): BackendServiceState {
  return {
    key: `default/svc-${uid}`,
    uid,
    ports: [{ name: "http", port, targetPort: 8080, protocol: "TCP" }],
    leaders: pods.map((ip) => ({ podName: `p-${ip}`, podUID: `u-${ip}`, podIP: ip, nodeIP: "192.168.0.1" })),
  };
}

// The pipeline retries a 500 and a GET that timed out once (retry.maxRetries 1 in azure_helpers): the faults hit
// both attempts, so the failure reaches the engine. A POST without an answer is never sent again.
const removalFaults: [string, Fault, ResponseMode[]][] = [
  ["applied, then 500", { route: "updateAddressLocations", kind: "applyThenError", status: 500, times: 2 }, [
    ...RESPONSE_MODES,
  ]],
  ["applied, then no answer", { route: "updateAddressLocations", kind: "hang", apply: true }, [
    ...RESPONSE_MODES,
  ]],
  ["applied, its poll hangs", { route: "operations", kind: "hang", times: 2 }, [
    "sync-polling",
    "async",
    "location",
  ]],
];

for (const [what, fault, modes] of removalFaults) {
  for (const mode of modes) {
    Deno.test(`removal write ${what} (${mode}): the delete starts within one backoff step of the re-read`, async () => {
      const emulator = startArmEmulator({ token: TOKEN, apiVersion: API_VERSION });
      emulator.setMode("*", mode);
      const backend = await startBackend(emulator);
      try {
        backend.engine.apply(service("a", ["10.0.0.1"]));
        assert.ok(await waitUntil(() => Object.keys(emulator.state().addressLocations).length === 1, 5_000));
        assert.ok(await waitUntil(() => !backend.engine.busy, 5_000));
        const mark = emulator.requests.length;
        emulator.script([fault]);
        backend.engine.remove("default/svc-a", "a");
        assert.ok(
          await waitUntil(() => Object.keys(emulator.state().services).length === 0, 10_000),
          JSON.stringify(backend.engine.debugServices()),
        );
        assert.ok(await waitUntil(() => backend.statuses.get("default/svc-a")?.ingress.length === 0, 2_000));
        const after = emulator.requests.slice(mark);
        const hit = after.findIndex((r) => r.fault !== undefined);
        assert.ok(hit >= 0, "the fault hit the removal");
        const relist = after.findIndex((r, i) =>
          i > hit && r.method === "GET" && r.route === "addressLocations"
        );
        const unregister = after.findIndex((r) =>
          r.route === "updateServices" && (r.body as { serviceRequests: { isDelete?: boolean }[] })
            .serviceRequests.some((s) => s.isDelete)
        );
        assert.ok(
          relist > hit && unregister > relist,
          JSON.stringify(after.map((r) => `${r.method} ${r.route}`)),
        );
        const gap = after[unregister].at - after[relist].at;
        console.log(`${what} (${mode}): the delete started ${gap} ms after the re-read`);
        assert.ok(gap <= BACKOFF_STEP_MS + 100, `delete started ${gap} ms after the re-read`);
        assert.equal(
          after.some((r) => r.route === "updateServices" && r.status === 409),
          false,
          "no delete while addresses were uncertain",
        );
      } finally {
        await backend.close();
        await emulator.close();
      }
    });
  }
}

Deno.test("reconciliation: lost, leaked and wrong-port services and address entries made behind the engine's back are repaired", async () => {
  const emulator = startArmEmulator({ token: TOKEN, apiVersion: API_VERSION });
  const backend = await startBackend(emulator, {
    timeouts: { ...TEST_TIMEOUTS, orphanGraceMs: 0, reconcileMs: 100, reconcileAfterFailureMs: 20 },
  });
  try {
    backend.engine.resyncDone();
    backend.engine.apply(service("a", ["10.0.0.1"]));
    backend.engine.apply(service("b", ["10.0.0.2"]));
    const settled = () => {
      const s = emulator.state();
      return Object.keys(s.services).join() === "zl-a,zl-b" &&
        s.loadBalancers["zl-b-lb"]?.properties.loadBalancingRules[0].properties.frontendPort === 80 &&
        Object.keys(s.publicIPs).join() === "zl-a-pip,zl-b-pip" &&
        JSON.stringify(s.addressLocations) === JSON.stringify({
            "192.168.0.1": { "10.0.0.1": ["zl-a"], "10.0.0.2": ["zl-b"] },
          });
    };
    assert.ok(await waitUntil(settled, 5_000));
    emulator.tamper((m) => {
      // Lost: the gateway forgot zl-a (and the addresses that used it).
      m.services.delete("zl-a");
      for (const loc of m.locations.values()) loc.delete("10.0.0.1");
      // A lost address entry (zl-b's leader) and a leaked one (an address nobody routes to).
      m.locations.get("192.168.0.1")!.delete("10.0.0.2");
      m.locations.get("192.168.0.1")!.set("10.0.0.99", new Set(["zl-b"]));
      // Wrong port: zl-b's rule now forwards 9999.
      const lb = [...m.loadBalancers.values()].find((l) => l.name === "zl-b-lb")!;
      lb.properties.loadBalancingRules[0].properties.frontendPort = 9999;
      // Leaked: a public IP of a zen-lead service nobody wants.
      m.putPublicIP(
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/zl-z-pip",
        {
          location: "westeurope",
          tags: { "managed-by": "zen-lead", "zen-lead-gateway": "sgw" },
          properties: { publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv4" },
        },
      );
    });
    assert.ok(await waitUntil(settled, 5_000), JSON.stringify(emulator.state().services));
    const text = backend.registry.render();
    for (const kind of ["lost", "drifted", "leaked"]) {
      assert.match(text, new RegExp(`engine_reconcile_repairs_total\\{kind="${kind}"\\} [1-9]`), kind);
    }
  } finally {
    await backend.close();
    await emulator.close();
  }
});
