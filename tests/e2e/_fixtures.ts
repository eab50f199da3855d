/** The objects e2e tests create: opted-in Services and pods labelled app=web. */
import type { KubeletSimulator } from "../harness/kubelet.ts";
import type { Service } from "../../core/kube/types.ts";
import type { KubeClient } from "../../core/kube/client.ts";
import type { E2E } from "./_env.ts";
import { Services } from "../../core/kube/paths.ts";

export function optedInService(
  ns: string,
  name: string,
  o: {
    selector?: Record<string, string>;
    annotations?: Record<string, string>;
    ports?: unknown[];
    type?: string;
  } = {},
): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns, annotations: { "zen-lead.io/enabled": "true", ...o.annotations } },
    spec: {
      type: o.type,
      selector: o.selector ?? { app: name },
      ports: (o.ports as Service["spec"] extends { ports?: infer P } ? P : never) ??
        [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

export const HTTP_PORT = [{ name: "http", containerPort: 8080 }];

/**
 * Creates pods one after another, a second apart, so "oldest" is unambiguous (creation timestamps have
 * one-second resolution).
 */
export async function agedPods(
  kubelet: KubeletSimulator,
  ns: string,
  names: readonly string[],
  opts: { labels?: Record<string, string>; ports?: typeof HTTP_PORT } = {},
): Promise<Awaited<ReturnType<KubeletSimulator["createPod"]>>[]> {
  const pods = [];
  for (const [i, name] of names.entries()) {
    pods.push(
      await kubelet.createPod(ns, {
        name,
        labels: opts.labels ?? { app: "web" },
        ports: opts.ports ?? HTTP_PORT,
      }),
    );
    if (i < names.length - 1) await new Promise((r) => setTimeout(r, 1001));
  }
  return pods;
}

/** Creates the opted-in Service `name` in `ns` (`o` as for optedInService); resolves to it as created. */
export function createOptedIn(
  client: KubeClient,
  ns: string,
  name: string,
  o: Parameters<typeof optedInService>[2] = {},
): Promise<Service> {
  return client.create<Service>(Services, optedInService(ns, name, o));
}

/**
 * A new namespace `prefix-…` with the pods `pods` (aged, app=web) and the opted-in Service "web" over them
 * (`o` as for optedInService); resolves to the namespace.
 */
export async function webApp(
  env: Pick<E2E, "cluster" | "kubelet" | "client">,
  prefix: string,
  pods: readonly string[] = ["web-0", "web-1"],
  o: Parameters<typeof optedInService>[2] = {},
): Promise<string> {
  const ns = await env.cluster.newNamespace(prefix);
  await agedPods(env.kubelet, ns, pods);
  await createOptedIn(env.client, ns, "web", o);
  return ns;
}
