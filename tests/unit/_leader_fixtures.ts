/** Plain objects for leader unit tests: pods and Services as an API server would return them, and settings. */
import type { Pod, Service } from "../../core/kube/types.ts";
import { DEFAULT_SCHEDULE } from "../../core/probing/spec.ts";
import type { ServiceSettings } from "../../core/leader/service_settings.ts";
import type { HealthChecker } from "../../core/plugin/types.ts";
import { readyChecker } from "../../health/ready.ts";

let seq = 0;

export interface PodOpts {
  name?: string;
  ip?: string;
  ready?: boolean;
  phase?: string;
  created?: number;
  readySince?: number;
  terminating?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  node?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

export function pod(o: PodOpts = {}): Pod {
  const n = ++seq;
  const name = o.name ?? `pod-${n}`;
  return {
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      creationTimestamp: new Date(o.created ?? 1_000_000 + n * 1000).toISOString(),
      deletionTimestamp: o.terminating ? new Date(0).toISOString() : undefined,
      labels: o.labels ?? { app: "web" },
      annotations: o.annotations,
    },
    spec: {
      nodeName: o.node ?? "node-a",
      containers: [{ name: "c", ports: o.ports ?? [{ name: "http", containerPort: 8080 }] }],
    },
    status: {
      phase: o.phase ?? "Running",
      podIP: o.ip === "" ? undefined : o.ip ?? `10.0.0.${n % 250}`,
      conditions: [{
        type: "Ready",
        status: o.ready === false ? "False" : "True",
        lastTransitionTime: new Date(o.readySince ?? 0).toISOString(),
      }],
    },
  };
}

export function service(o: {
  name?: string;
  annotations?: Record<string, string>;
  ports?: Service["spec"] extends infer S ? S extends { ports?: infer P } ? P : never : never;
  type?: string;
  labels?: Record<string, string>;
  selector?: Record<string, string>;
} = {}): Service {
  return {
    metadata: {
      name: o.name ?? "web",
      namespace: "ns",
      uid: "svc-uid",
      labels: o.labels ?? { app: "web" },
      annotations: { "zen-lead.io/enabled": "true", ...o.annotations },
    },
    spec: {
      type: o.type ?? "ClusterIP",
      selector: o.selector ?? { app: "web" },
      ports: o.ports ?? [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
      clusterIP: "10.96.0.10",
    },
  };
}

/** A Service's parsed settings: `oldest`, sticky, one leader, `checker` (the passive `ready` one by default). */
export function leaderSettings(
  o: Partial<ServiceSettings> = {},
  checker: HealthChecker = readyChecker,
): ServiceSettings {
  return {
    strategy: "oldest",
    strategyOptions: undefined,
    sticky: true,
    count: 1,
    minReadyMs: 0,
    healthCheck: { type: checker.passive ? "ready" : "http", checker, schedule: DEFAULT_SCHEDULE, spec: {} },
    failMode: "open",
    ...o,
  };
}
