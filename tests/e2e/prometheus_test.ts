/**
 * zen-lead's metrics as Prometheus sees them: promtool lints the exposition and the alert rules of deploy/, and a
 * real Prometheus scrapes the running controller and answers queries about a failover.
 */
import assert from "node:assert/strict";
import { type E2E, e2eTest, ROOT, startE2EWithController } from "./_env.ts";
import { routedPods, waitFor } from "./_reads.ts";
import { createOptedIn, HTTP_PORT } from "./_fixtures.ts";
import { families } from "./_metrics.ts";
import { startPrometheus, zenLeadScrapeConfig } from "./_prometheus.ts";

let env: E2E;
let metricsPort = 0;

async function run(cmd: string, args: string[], stdin?: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await child.output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr) };
}

e2eTest("setup: controller with a failover behind it", async () => {
  ({ env, h: { metricsPort } } = await startE2EWithController());
  const ns = await env.cluster.newNamespace("prom");
  await env.kubelet.createPod(ns, { name: "a", labels: { app: "web" }, ports: HTTP_PORT });
  await env.kubelet.createPod(ns, { name: "b", labels: { app: "web" }, ports: HTTP_PORT });
  await createOptedIn(env.client, ns, "web");
  const first = await waitFor("leader", async () => (await routedPods(env.client, ns, "web-leader"))?.[0]);
  await env.kubelet.setPodReady(ns, first, false);
  await waitFor(
    "failover",
    async () => (await routedPods(env.client, ns, "web-leader"))?.[0] !== first || undefined,
  );
});

e2eTest("promtool check metrics: the /metrics exposition has no lint problems", async () => {
  // The counter is written right after the slice; the test may have seen the slice a moment before that.
  const text = await waitFor("the failover counter", async () => {
    const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return /zen_lead_failover_count_total\{/.test(t) ? t : undefined;
  });
  const r = await run("promtool", ["check", "metrics"], text);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out.trim(), "", r.out);
});

e2eTest(
  "the scrape's metric families (names, types, labels, HELP) are exactly those before OTLP (golden file)",
  async () => {
    // tests/e2e/golden/metric_families.txt was written by this test on main before the otlp exporter existed.
    const golden = `${ROOT}tests/e2e/golden/metric_families.txt`;
    const text = await waitFor("the failover counter", async () => {
      const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return /zen_lead_failover_count_total\{/.test(t) ? t : undefined;
    });
    // Only the controller's own families: process_* / deno_* vary by platform.
    const got = families(text).filter((l) => l.startsWith("zen_lead_"));
    if (Deno.env.get("UPDATE_GOLDEN")) await Deno.writeTextFile(golden, got.join("\n") + "\n");
    const want = (await Deno.readTextFile(golden)).trim().split("\n");
    assert.deepEqual(got, want);
  },
);

e2eTest("promtool check rules: deploy/helm/zen-lead/files/alerts.yaml is valid", async () => {
  const r = await run("promtool", ["check", "rules", ROOT + "deploy/helm/zen-lead/files/alerts.yaml"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 25 rules found/);
});

e2eTest(
  "promtool test rules: every alert fires when it should and stays silent when it should not",
  async () => {
    const r = await run("promtool", ["test", "rules", ROOT + "tests/prometheus/alerts_test.yaml"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
    // Every alert of the rule file has at least one test case.
    const rules = await Deno.readTextFile(ROOT + "deploy/helm/zen-lead/files/alerts.yaml");
    const tests = await Deno.readTextFile(ROOT + "tests/prometheus/alerts_test.yaml");
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    assert.equal(alerts.length, 10);
    for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a}\n`), `no promtool test for ${a}`);
  },
);

e2eTest(
  "a real Prometheus scrapes zen-lead and answers queries about the failover and the rules",
  async () => {
    const prom = await startPrometheus("zen-lead-prom-", () => zenLeadScrapeConfig(metricsPort));
    try {
      const up = await waitFor("target up", async () => {
        const r = await prom.query(`up{job="zen-lead"}`);
        return r[0]?.value[1] === "1" ? r : undefined;
      }, 30_000);
      assert.equal(up.length, 1);
      const failovers = await waitFor("failover series", async () => {
        const r = await prom.query(`sum(zen_lead_failover_count_total{reason="notReady"})`);
        return r.length ? r : undefined;
      }, 15_000);
      assert.equal(failovers[0].value[1], "1");
      const latency = await prom.query(`sum(zen_lead_failover_latency_seconds_count)`);
      assert.equal(latency[0]?.value[1], "1");
      const rules = await prom.api<{
        data: { groups: { rules: { name: string; health: string }[] }[] };
      }>("rules");
      const all = rules.data.groups.flatMap((g) => g.rules);
      assert.equal(all.length, 25);
      await waitFor(
        "rules evaluated without errors",
        () =>
          prom.api("rules").then((b) => {
            const rs = (b as typeof rules).data.groups.flatMap((g) => g.rules);
            return rs.every((x) => x.health === "ok") ? true : undefined;
          }),
      );
      // The active replica exists: the no-active-replica alert resolves once its series is scraped.
      const leading = await waitFor("election status scraped", async () => {
        const r = await prom.query(`max(zen_lead_leader_election_status)`);
        return r.length ? r : undefined;
      });
      assert.equal(leading[0].value[1], "1");
      await waitFor("no ZenLeadNoActiveReplica alert", async () => {
        const alerts = await prom.api<{
          data: { alerts: { labels: { alertname: string } }[] };
        }>("alerts");
        return alerts.data.alerts.some((a) => a.labels.alertname === "ZenLeadNoActiveReplica")
          ? undefined
          : true;
      });
    } finally {
      await prom.stop();
    }
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
