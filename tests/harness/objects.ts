// Small builders for the objects tests create next to pods: Services and owner references.
import { CoreV1Api, type KubeConfig, type V1OwnerReference, type V1Service } from "@kubernetes/client-node";

export interface ServiceOptions {
  name: string;
  selector?: Record<string, string>;
  /** Target ports may name a container port. */
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: "TCP" | "UDP" | "SCTP" }[];
  /** e.g. ["IPv6"] for an IPv6 Service, ["IPv4", "IPv6"] with ipFamilyPolicy RequireDualStack. */
  ipFamilies?: ("IPv4" | "IPv6")[];
  ipFamilyPolicy?: "SingleStack" | "PreferDualStack" | "RequireDualStack";
  /** "None" for a headless Service. */
  clusterIP?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: V1OwnerReference[];
}

/** Creates a ClusterIP Service (port 80 -> "http" by default). */
export function createService(kc: KubeConfig, namespace: string, opts: ServiceOptions): Promise<V1Service> {
  return kc.makeApiClient(CoreV1Api).createNamespacedService({
    namespace,
    body: {
      metadata: {
        name: opts.name,
        labels: opts.labels,
        annotations: opts.annotations,
        ownerReferences: opts.ownerReferences,
      },
      spec: {
        selector: opts.selector,
        ports: (opts.ports ?? [{ name: "http", port: 80, targetPort: "http" }]).map((p) => ({
          protocol: "TCP",
          ...p,
        })),
        ipFamilies: opts.ipFamilies,
        ipFamilyPolicy: opts.ipFamilyPolicy,
        clusterIP: opts.clusterIP,
      },
    },
  });
}

/** An ownerReference to `owner` (which must have been read back from the API: it needs a uid). */
export function ownerReferenceTo(
  owner: { apiVersion?: string; kind?: string; metadata?: { name?: string; uid?: string } },
  opts: { controller?: boolean; blockOwnerDeletion?: boolean } = {},
): V1OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!apiVersion || !kind || !name || !uid) {
    throw new Error(
      `expected an owner with apiVersion, kind, metadata.name and metadata.uid, found ` +
        JSON.stringify({ apiVersion, kind, name, uid }),
    );
  }
  return { apiVersion, kind, name, uid, ...opts };
}
