// What a kubelet reports: node conditions, pod conditions and container statuses of the simulated nodes and pods.
import type {
  V1ContainerStatus,
  V1NodeCondition,
  V1PodCondition,
  V1PodStatus,
} from "@kubernetes/client-node";

export const CONTAINER = "app";
export const IMAGE = "zen-lead.test/fake-app:1";

export function nodeReadyCondition(status: string, now: Date, since: Date): V1NodeCondition {
  const reason = status === "True"
    ? "KubeletReady"
    : status === "False"
    ? "KubeletNotReady"
    : "NodeStatusUnknown";
  return {
    type: "Ready",
    status,
    reason,
    message: `simulated: ${reason}`,
    lastHeartbeatTime: now,
    lastTransitionTime: since,
  };
}

export function podConditions(ready: boolean, now: Date): V1PodCondition[] {
  const readiness = ready ? "True" : "False";
  const notReady = ready ? {} : { reason: "ContainersNotReady" };
  return [
    { type: "PodReadyToStartContainers", status: "True", lastTransitionTime: now },
    { type: "Initialized", status: "True", lastTransitionTime: now },
    { type: "Ready", status: readiness, lastTransitionTime: now, ...notReady },
    { type: "ContainersReady", status: readiness, lastTransitionTime: now, ...notReady },
    { type: "PodScheduled", status: "True", lastTransitionTime: now },
  ];
}

/** A running pod's status on `ips` (and its node's `hostIP`), Ready or not since `now`, with these containers. */
export function runningPodStatus(
  ips: string[],
  hostIP: string | undefined,
  ready: boolean,
  now: Date,
  containerStatuses: V1ContainerStatus[],
): V1PodStatus {
  return {
    phase: "Running",
    ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
    podIP: ips[0],
    podIPs: ips.map((ip) => ({ ip })),
    startTime: now,
    conditions: podConditions(ready, now),
    containerStatuses,
  };
}

export function containerStatus(podName: string, ready: boolean, startedAt: Date): V1ContainerStatus {
  return {
    name: CONTAINER,
    image: IMAGE,
    imageID: `${IMAGE}@sha256:${"0".repeat(64)}`,
    containerID: `containerd://${podName}`,
    ready,
    started: true,
    restartCount: 0,
    state: { running: { startedAt } },
  };
}

export function fakeNodeInfo() {
  return {
    architecture: "amd64",
    operatingSystem: "linux",
    osImage: "zen-lead simulated node",
    kernelVersion: "0.0.0",
    containerRuntimeVersion: "containerd://0.0.0",
    kubeletVersion: "simulated",
    kubeProxyVersion: "",
    bootID: "",
    machineID: "",
    systemUUID: "",
  };
}
