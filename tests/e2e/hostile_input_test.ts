/**
 * No input kills or spins the controller, on a real control plane: `controller: *nope` and an alias
 * bomb in the ConfigMap leave the controller up with an InvalidConfiguration Event, absurd numbers are refused
 * naming the field and the range, and `zen-lead.io/min-ready-duration: 1000h` does not start a hot loop.
 */
import assert from "node:assert/strict";
import type { ZenLeadHandle } from "../../app/start.ts";
import { CONTROLLER_NS, type E2E, e2eTest, setControllerConfig, startE2EWithController } from "./_env.ts";
import { eventOf, eventsFor, leaderIs } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";

let env: E2E;
let h: ZenLeadHandle;
let ns = "";

async function setConfig(text: string): Promise<void> {
  await setControllerConfig(env.client, text);
}

function configEvent(match: RegExp) {
  return eventOf(env.client, CONTROLLER_NS, "zen-lead-config", "InvalidConfiguration", match);
}

/** The controller still works: a new opted-in Service gets its leader. */
async function stillRouting(name: string): Promise<void> {
  await createOptedIn(env.client, ns, name, { selector: { app: "web" } });
  await leaderIs(env.client, ns, `${name}-leader`, "web-0");
}

function reconciles(): number {
  const c = h.metrics.counter({
    name: "zen_lead_reconciliations_total",
    help: "",
    labelNames: ["result"],
  });
  return ["success", "error", "skipped"].reduce((sum, result) => sum + c.get({ result }), 0);
}

e2eTest("setup: controller and two pods", async () => {
  ({ env, h } = await startE2EWithController());
  ns = await env.cluster.newNamespace("hostile");
  await agedPods(env.kubelet, ns, ["web-0", "web-1"]);
});

e2eTest(
  "controller: *nope is an InvalidConfiguration Event; the controller stays up and routes",
  async () => {
    await setConfig("controller: *nope\n");
    const ev = await configEvent(/Unresolved alias/);
    assert.match(ev.message, /config\.yaml: not valid YAML: Unresolved alias .*: nope/);
    await stillRouting("after-alias");
  },
);

e2eTest("an alias bomb is an InvalidConfiguration Event; the controller stays up and routes", async () => {
  const lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (let i = 1; i < 9; i++) {
    const [prev, name] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
  }
  await setConfig(lines.join("\n") + "\n");
  await configEvent(/Excessive alias count/);
  await stillRouting("after-bomb");
});

e2eTest(
  "absurd numbers in the ConfigMap are refused naming field, range and value; settings unchanged",
  async () => {
    await setConfig(
      "controller:\n  qps: .inf\n  apiTimeoutSeconds: 3000000\n  cacheUpdateTimeoutSeconds: 1e12\n",
    );
    const ev = await configEvent(/controller\.qps/);
    assert.match(ev.message, /controller\.qps: expected a number > 0 and <= 10000, received Infinity/);
    assert.match(
      ev.message,
      /controller\.apiTimeoutSeconds: expected a number from 0\.1 to 600 seconds, received 3000000/,
    );
    assert.match(
      ev.message,
      /controller\.cacheUpdateTimeoutSeconds: expected a number from 0\.1 to 600 seconds/,
    );
    assert.equal(h.settings.qps, 50);
    assert.equal(h.settings.apiTimeoutSeconds, 30);
    await stillRouting("after-numbers");
  },
);

e2eTest(
  "during min-ready-duration the Event says how many pods are Ready and when they qualify, once",
  async () => {
    await createOptedIn(env.client, ns, "warm", {
      selector: { app: "web" },
      annotations: { "zen-lead.io/min-ready-duration": "1h" },
    });
    const ev = await eventOf(env.client, ns, "warm", "NoReadyPods");
    assert.match(
      ev.message,
      /^2 pods are Ready and qualify at \d{4}-\d\d-\d\dT[\d:.]+Z \(zen-lead\.io\/min-ready-duration 3600s\)/,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const all = (await eventsFor(env.client, ns, "warm")).filter((e) => e.reason === "NoReadyPods");
    assert.equal(all.length, 1);
    assert.equal((all[0] as { count?: number }).count ?? 1, 1, "not re-recorded");
  },
);

e2eTest(
  "min-ready-duration: 1000h is refused as InvalidAnnotation; it and a 1h wait cost <= 50 reconciles in 20 s",
  async () => {
    const before = reconciles();
    await createOptedIn(env.client, ns, "slow", {
      selector: { app: "web" },
      annotations: { "zen-lead.io/min-ready-duration": "1000h" },
    });
    const ev = await eventOf(env.client, ns, "slow", "InvalidAnnotation");
    assert.match(
      ev.message,
      /^annotation zen-lead\.io\/min-ready-duration: expected a Go duration from 0s to 24h/,
    );
    assert.match(ev.message, /received "1000h"$/);
    await new Promise((r) => setTimeout(r, 20_000));
    const spent = reconciles() - before;
    console.log(`reconciles in 20 s with min-ready-duration 1000h: ${spent}`);
    assert.ok(spent <= 50, `${spent} reconciles in 20 s`);
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
