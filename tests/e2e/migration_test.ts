/**
 * Drop-in migration from the Go predecessor: a leader
 * Service and EndpointSlice in exactly the shape it writes (its labels, its copied annotations including
 * zen-lead.io/enabled, ownerReferences without blockOwnerDeletion, endpoint conditions with `ready` only) are
 * adopted in place: same UIDs, never deleted, never without an endpoint, then kept and failed over as usual.
 */
import assert from "node:assert/strict";
import { EndpointSlices, Services } from "../../core/kube/paths.ts";
import type { EndpointSlice, Pod, Service } from "../../core/kube/types.ts";
import { resourcePath } from "../../core/kube/paths.ts";
import { type E2E, e2eTest, startE2E } from "./_env.ts";
import { getService, getSlice, leaderIs, waitFor } from "./_reads.ts";

let env: E2E;

e2eTest("setup: control plane with deploy/ RBAC", async () => {
  env = await startE2E();
});

/** The Go controller's label filter (metadata.go): GitOps tracking labels are not copied. */
const GITOPS_LABELS = [
  "app.kubernetes.io/instance",
  "app.kubernetes.io/managed-by",
  "app.kubernetes.io/part-of",
];

function goLeaderObjects(
  source: Service,
  leader: Pod,
): { service: Service; slice: (uid: string) => EndpointSlice } {
  const ns = source.metadata.namespace!;
  const copied = Object.fromEntries(
    Object.entries(source.metadata.labels ?? {}).filter(([k]) => !GITOPS_LABELS.includes(k)),
  );
  const labels = {
    ...copied,
    "app.kubernetes.io/managed-by": "zen-lead",
    "zen-lead.io/source-service": "web",
  };
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "web-leader",
      namespace: ns,
      labels,
      // The predecessor copies every source annotation but its GitOps tracking ones (zen-lead.io/enabled too, wrongly).
      annotations: {
        ...Object.fromEntries(
          Object.entries(source.metadata.annotations ?? {}).filter(([k]) =>
            !k.startsWith("argocd.argoproj.io/")
          ),
        ),
        "zen-lead.io/current-leader": leader.metadata.name!,
        "zen-lead.io/leader-pod-name": leader.metadata.name!,
        "zen-lead.io/leader-pod-uid": leader.metadata.uid!,
        "zen-lead.io/leader-last-switch-time": new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
      ownerReferences: [{
        apiVersion: "v1",
        kind: "Service",
        name: "web",
        uid: source.metadata.uid!,
        controller: true,
      }],
    },
    spec: { type: "ClusterIP", ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] },
  };
  const slice = (leaderUid: string): EndpointSlice => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "web-leader",
      namespace: ns,
      labels: {
        ...copied,
        "kubernetes.io/service-name": "web-leader",
        "app.kubernetes.io/managed-by": "zen-lead",
        "zen-lead.io/source-service": "web",
        "endpointslice.kubernetes.io/managed-by": "zen-lead",
      },
      ownerReferences: [{
        apiVersion: "v1",
        kind: "Service",
        name: "web-leader",
        uid: leaderUid,
        controller: true,
      }],
    },
    addressType: "IPv4",
    endpoints: [{
      addresses: [leader.status!.podIP!],
      conditions: { ready: true },
      nodeName: leader.spec?.nodeName,
      targetRef: { kind: "Pod", namespace: ns, name: leader.metadata.name!, uid: leader.metadata.uid! },
    }],
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  });
  return { service, slice };
}

e2eTest(
  "leader objects written by the Go predecessor are adopted in place: same UIDs, no delete, never empty",
  async () => {
    const ns = await env.cluster.newNamespace("migrate");
    const pods = [];
    for (const name of ["web-0", "web-1"]) {
      pods.push(
        await env.kubelet.createPod(ns, {
          name,
          labels: { app: "web" },
          ports: [{ name: "http", containerPort: 8080 }],
        }),
      );
      await new Promise((r) => setTimeout(r, 1001));
    }
    const source = await env.client.create<Service>(Services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "web",
        namespace: ns,
        labels: { app: "web", "app.kubernetes.io/instance": "shop" },
        annotations: {
          "zen-lead.io/enabled": "true",
          "argocd.argoproj.io/sync-wave": "1",
          // As `kubectl apply` leaves it; the predecessor copied it onto the leader Service.
          "kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Service","metadata":{"name":"web"}}',
        },
      },
      spec: {
        selector: { app: "web" },
        ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
      },
    });
    // The predecessor was leading with web-0 before the swap.
    const go = goLeaderObjects(source, pods[0] as unknown as Pod);
    const goService = await env.client.create<Service>(Services, go.service);
    const goSlice = await env.client.create<EndpointSlice>(EndpointSlices, go.slice(goService.metadata.uid!));

    // Record every change to the two objects from here on.
    const events: { kind: string; type: string; uid?: string; endpoints?: number }[] = [];
    const stop = new AbortController();
    const record = async (path: string, kind: string, rv: string) => {
      try {
        for await (
          const e of env.client.watch<Service & EndpointSlice>(path, {
            fieldSelector: "metadata.name=web-leader",
            resourceVersion: rv,
          }, stop.signal)
        ) {
          const endpoints = kind === "EndpointSlice"
            ? (e.object.endpoints ?? []).filter((x) => (x.addresses ?? []).length > 0).length
            : undefined;
          events.push({ kind, type: e.type, uid: e.object.metadata?.uid, endpoints });
        }
      } catch { /* aborted */ }
    };
    const watching = [
      record(resourcePath(Services, ns), "Service", goService.metadata.resourceVersion!),
      record(resourcePath(EndpointSlices, ns), "EndpointSlice", goSlice.metadata.resourceVersion!),
    ];

    // The image swap: zen-lead starts against the predecessor's objects.
    await env.startController();
    const adopted = await waitFor("the leader Service rewritten in zen-lead's shape", async () => {
      const s = await getService(env.client, ns, "web-leader");
      const ann = s?.metadata.annotations ?? {};
      return s && !("zen-lead.io/enabled" in ann) &&
          !("kubectl.kubernetes.io/last-applied-configuration" in ann) &&
          s.metadata.ownerReferences?.[0]?.blockOwnerDeletion === true
        ? s
        : undefined;
    }, 30_000);
    const slice = await waitFor("the slice rewritten in zen-lead's shape", async () => {
      const s = await getSlice(env.client, ns, "web-leader");
      return s?.endpoints?.[0]?.conditions?.serving === true ? s : undefined;
    });
    assert.equal(adopted.metadata.uid, goService.metadata.uid, "the leader Service was not recreated");
    assert.equal(slice.metadata.uid, goSlice.metadata.uid, "the EndpointSlice was not recreated");
    assert.equal(slice.endpoints?.[0]?.targetRef?.name, "web-0", "the sitting leader stays (sticky by UID)");
    assert.equal(adopted.spec?.clusterIP, goService.spec?.clusterIP, "the leader address did not change");
    assert.equal(
      adopted.metadata.annotations?.["zen-lead.io/leader-last-switch-time"],
      go.service.metadata.annotations?.["zen-lead.io/leader-last-switch-time"],
      "no leader switch recorded",
    );

    // And it keeps working as zen-lead's own objects.
    await env.kubelet.setPodReady(ns, "web-0", false);
    await leaderIs(env.client, ns, "web-leader", "web-1");
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    await Promise.all(watching);
    assert.deepEqual(
      events.filter((e) => e.type === "DELETED" || e.type === "ADDED"),
      [],
      "no delete or create",
    );
    assert.ok(events.length >= 2, `the objects were written: ${JSON.stringify(events)}`);
    assert.deepEqual(
      events.filter((e) => e.kind === "EndpointSlice" && e.endpoints === 0),
      [],
      "the slice always had an endpoint",
    );
    const uids = new Set(events.map((e) => e.uid));
    assert.deepEqual([...uids].sort(), [goService.metadata.uid, goSlice.metadata.uid].sort());
  },
);

e2eTest("teardown", async () => {
  await env?.stop();
});
