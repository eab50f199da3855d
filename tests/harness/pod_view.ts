/** A plugin's view of a pod (PodView) for tests and benchmarks. */
import type { PodView } from "../../core/plugin/types.ts";

/** Pod `name` in namespace "ns", uid `uid-<name>`, created at 0, no labels, annotations or ports; `o` overrides. */
export function podView(name: string, o: Partial<PodView> = {}): PodView {
  return {
    namespace: "ns",
    name,
    uid: `uid-${name}`,
    ip: "10.0.0.1",
    labels: {},
    annotations: {},
    createdAt: 0,
    ports: [],
    ...o,
  };
}
