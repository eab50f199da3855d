/**
 * Events a person can read, on a real control plane: pod flips that make the controller reconcile a
 * Service with a bad annotation re-record no unchanged warning, and a controller restart creates no duplicate
 * Events.
 */
import assert from "node:assert/strict";
import type { ZenLeadHandle } from "../../app/start.ts";
import { type E2E, e2eTest, startE2EWithController } from "./_env.ts";
import { leaderIs, waitFor } from "./_reads.ts";
import { agedPods, createOptedIn } from "./_fixtures.ts";

let env: E2E;
let h: ZenLeadHandle;
let ns = "";

interface Ev {
  metadata: { name: string; resourceVersion: string };
  reason: string;
  message: string;
  count?: number;
}

async function events(name: string): Promise<Ev[]> {
  const list = await env.client.request<{ items: Ev[] }>({
    operation: "list_events",
    method: "GET",
    path: `/api/v1/namespaces/${ns}/events`,
    query: { fieldSelector: `involvedObject.name=${name}` },
  });
  return list.items;
}

function reconciles(handle: ZenLeadHandle): number {
  const c = handle.metrics.counter({
    name: "zen_lead_reconciliations_total",
    help: "",
    labelNames: ["result"],
  });
  return c.get({ result: "success" });
}

/** Waits until the controller has no Event write in flight. */
async function eventsSettled(handle: ZenLeadHandle): Promise<void> {
  await waitFor(
    "events written",
    () => Promise.resolve(handle.controller.events.inFlight === 0 || undefined),
  );
  await new Promise((r) => setTimeout(r, 300));
}

e2eTest("setup: a Service with a bad annotation and five pods", async () => {
  ({ env, h } = await startE2EWithController());
  ns = await env.cluster.newNamespace("events");
  await agedPods(env.kubelet, ns, ["web-0", "web-1"]);
  for (const p of ["web-2", "web-3", "web-4"]) {
    await env.kubelet.createPod(ns, {
      name: p,
      labels: { app: "web" },
      ports: [{ name: "http", containerPort: 8080 }],
    });
  }
  await createOptedIn(env.client, ns, "web", { annotations: { "zen-lead.io/sticky": "maybe" } });
  await leaderIs(env.client, ns, "web-leader", "web-0");
  await waitFor(
    "InvalidAnnotation",
    async () => (await events("web")).find((e) => e.reason === "InvalidAnnotation"),
  );
  await eventsSettled(h);
});

e2eTest("4 pod flips that reconcile the Service re-record no unchanged warning", async () => {
  const before = (await events("web")).find((e) => e.reason === "InvalidAnnotation")!;
  assert.match(
    before.message,
    /^annotation zen-lead\.io\/sticky: valid choices: "true", "false"; received "maybe"$/,
  );
  for (const pod of ["web-1", "web-2", "web-3", "web-4"]) {
    const seen = reconciles(h);
    await env.kubelet.setPodReady(ns, pod, false);
    await waitFor(
      `a reconcile after flipping ${pod}`,
      () => Promise.resolve(reconciles(h) > seen || undefined),
    );
  }
  await eventsSettled(h);
  const after = (await events("web")).filter((e) => e.reason === "InvalidAnnotation");
  assert.equal(after.length, 1, "one InvalidAnnotation Event");
  assert.equal(
    after[0].metadata.resourceVersion,
    before.metadata.resourceVersion,
    "not even its count changed",
  );
  assert.equal(after[0].count ?? 1, 1);
});

e2eTest("a controller restart creates no duplicate Events", async () => {
  const before = await events("web");
  await h.stop(2000);
  h = await env.startController();
  await h.activated;
  await waitFor("the new controller reconciled web", () => Promise.resolve(reconciles(h) > 0 || undefined));
  await eventsSettled(h);
  const after = await events("web");
  const series = after.map((e) => `${e.reason}: ${e.message}`);
  assert.equal(new Set(series).size, series.length, `duplicates among ${series.join(" | ")}`);
  assert.deepEqual(after.map((e) => e.metadata.name).sort(), before.map((e) => e.metadata.name).sort());
  console.log(`events before the restart: ${before.length}, after: ${after.length}`);
});

e2eTest("teardown", async () => {
  await env?.stop();
});
