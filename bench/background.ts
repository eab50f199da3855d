/**
 * The rest of a large cluster: pods and Services nothing opts in, spread over many namespaces, and a steady
 * churn of pod status updates among them. The controller should pay for none of it.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { KubeClient } from "../core/kube/client.ts";
import { isAlreadyExists } from "../core/kube/errors.ts";
import { Namespaces, Services } from "../core/kube/paths.ts";
import type { KubeObject, Service } from "../core/kube/types.ts";
import type { KubeletSimulator } from "../tests/harness/kubelet.ts";
import { runBounded } from "../tests/harness/pool.ts";
import { RestClient } from "../tests/harness/rest.ts";
import { BENCH_LABEL, HTTP_PORTS, type Progress } from "./fleet.ts";

export interface BackgroundPlan {
  namespaces: string[];
  /** Per namespace: how many pods and Services it holds. */
  pods: number[];
  services: number[];
}

/** Spreads `pods` and `services` evenly over `namespaces` namespaces `zlb-<run>-bg-<n>`. */
export function planBackground(
  runId: string,
  pods: number,
  services: number,
  namespaces: number,
): BackgroundPlan {
  const n = Math.max(1, namespaces);
  const share = (total: number, i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);
  return {
    namespaces: Array.from({ length: n }, (_, i) => `zlb-${runId}-bg-${i}`),
    pods: Array.from({ length: n }, (_, i) => share(pods, i)),
    services: Array.from({ length: n }, (_, i) => share(services, i)),
  };
}

/** Pod `j` of a background namespace belongs to app `j mod services` there (a Service selects each app). */
const appOf = (j: number, services: number) => `bg-${services > 0 ? j % services : 0}`;

/** Creates the namespaces, Running and Ready pods, and Services that select them without opting in. */
export async function createBackground(
  client: KubeClient,
  kubelet: KubeletSimulator,
  runId: string,
  plan: BackgroundPlan,
  concurrency: number,
  progress: Progress,
): Promise<void> {
  const started = performance.now();
  let pods = 0;
  const total = plan.pods.reduce((a, b) => a + b, 0);
  let reported = 0;
  for (const [i, ns] of plan.namespaces.entries()) {
    try {
      await client.create<KubeObject>(Namespaces, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns, labels: { [BENCH_LABEL]: runId } },
      });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    const svcCount = plan.services[i];
    await kubelet.createPods(ns, plan.pods[i], (j) => ({
      name: `${appOf(j, svcCount)}-${j}`,
      labels: { app: appOf(j, svcCount), [BENCH_LABEL]: `${runId}-bg` },
      ports: HTTP_PORTS,
    }), { concurrency });
    await runBounded(svcCount, concurrency, async (k) => {
      try {
        await client.create<Service>(Services, {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: `bg-${k}`, namespace: ns, labels: { app: `bg-${k}` } },
          spec: { selector: { app: `bg-${k}` }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
        });
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    });
    pods += plan.pods[i];
    if (pods - reported >= 2000 || i === plan.namespaces.length - 1) {
      reported = pods;
      const s = (performance.now() - started) / 1000;
      progress(`background: pods ${pods}/${total} (${(pods / s).toFixed(0)}/s), namespaces ${i + 1}`);
    }
  }
}

/** The name of background pod `j` of namespace `i` (as createBackground named it). */
export function backgroundPod(plan: BackgroundPlan, i: number, j: number): string {
  return `${appOf(j, plan.services[i])}-${j}`;
}

/**
 * Updates background pods' status at `ratePerSecond` for `seconds` (each update flips a pod's Ready, as a
 * kubelet reporting a failing probe would); returns how many updates the API server acknowledged.
 */
export async function backgroundChurn(
  kc: KubeConfig,
  plan: BackgroundPlan,
  ratePerSecond: number,
  seconds: number,
): Promise<{ updates: number; failed: number; seconds: number }> {
  const rest = RestClient.fromKubeConfig(kc);
  const withPods = plan.namespaces.map((_, i) => i).filter((i) => plan.pods[i] > 0);
  if (withPods.length === 0 || ratePerSecond <= 0) return { updates: 0, failed: 0, seconds: 0 };
  const ready = new Map<string, boolean>();
  let updates = 0;
  let failed = 0;
  let n = 0;
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    const due = started + (n * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const i = withPods[n % withPods.length];
    const j = Math.floor(n / withPods.length) % plan.pods[i];
    n++;
    const ns = plan.namespaces[i];
    const name = backgroundPod(plan, i, j);
    const next = !(ready.get(`${ns}/${name}`) ?? true);
    ready.set(`${ns}/${name}`, next);
    const status = next ? "True" : "False";
    // Strategic merge keys conditions by type: only Ready and ContainersReady change.
    const p = rest.request<unknown>("PATCH", `/api/v1/namespaces/${ns}/pods/${name}/status`, {
      body: {
        status: {
          conditions: [
            { type: "Ready", status, lastTransitionTime: new Date().toISOString() },
            { type: "ContainersReady", status, lastTransitionTime: new Date().toISOString() },
          ],
        },
      },
      contentType: "application/strategic-merge-patch+json",
    }).then(() => void updates++, () => void failed++);
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    if (inFlight.size > 64) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  rest.close();
  return { updates, failed, seconds: (performance.now() - started) / 1000 };
}
