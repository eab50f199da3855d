// Waiting on a Kubernetes watch until the watched collection reaches a wanted state.
import { type KubeConfig, type KubernetesObject, Watch } from "@kubernetes/client-node";

export type WatchPhase = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** The current objects of the watched collection, by namespace/name. */
export type WatchedObjects<T> = Map<string, T>;

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

/**
 * Watches `path` (e.g. /api/v1/namespaces/ns/pods) and resolves with the collection once `done`
 * returns true for it; the initial ADDED events of a watch without resourceVersion replay existing
 * objects, so a condition that already holds resolves at once. Rejects after `timeoutMs`.
 */
export function watchUntil<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  done: (objects: WatchedObjects<T>, phase: WatchPhase, changed: T) => boolean,
  opts: { timeoutMs?: number; query?: Record<string, string | number | boolean | undefined>; what?: string } =
    {},
): Promise<WatchedObjects<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const objects: WatchedObjects<T> = new Map();
  return new Promise((resolve, reject) => {
    let finished = false;
    let controller: AbortController | undefined;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller?.abort();
      if (err) reject(err);
      else resolve(objects);
    };
    const timer = setTimeout(() => {
      const names = [...objects.keys()].join(", ") || "none";
      finish(
        new Error(
          `expected ${
            opts.what ?? `the watch on ${path} to reach the wanted state`
          } within ${timeoutMs} ms; objects seen: ${names}`,
        ),
      );
    }, timeoutMs);
    new Watch(kc).watch(
      path,
      opts.query ?? {},
      (phase: string, obj: T) => {
        if (finished) return;
        if (phase === "ERROR") {
          return finish(new Error(`watch on ${path} sent an ERROR event: ${JSON.stringify(obj)}`));
        }
        if (phase === "DELETED") objects.delete(keyOf(obj));
        else if (phase !== "BOOKMARK") objects.set(keyOf(obj), obj);
        try {
          if (done(objects, phase as WatchPhase, obj)) finish();
        } catch (err) {
          finish(err);
        }
      },
      (err: unknown) => {
        if (!finished) {
          finish(
            err ?? new Error(`expected the watch on ${path} to stay open, found it closed by the server`),
          );
        }
      },
    ).then((c) => {
      controller = c;
      if (finished) c.abort();
    }, finish);
  });
}
