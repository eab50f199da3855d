/** A full list of one scope in pages; a continue token that expires mid-list restarts it unpaginated. */
import type { KubeClient } from "./client.ts";
import { isGone } from "./errors.ts";
import type { ResourceType } from "./paths.ts";
import type { KubeObject } from "./types.ts";

export interface ListPagesOptions {
  namespace: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size (undefined: one unpaginated list). */
  pageSize?: number;
  /** Timeout of each page. */
  timeoutMs?: number;
}

/** Every item (through `trim`) and the list's resourceVersion: the cache state a watch resumes from. */
export async function listPages<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceType,
  o: ListPagesOptions,
  trim: (obj: T) => T,
  signal: AbortSignal,
): Promise<{ items: T[]; resourceVersion: string }> {
  const items: T[] = [];
  let resourceVersion = "";
  let cont: string | undefined;
  let limit: number | undefined = o.pageSize;
  do {
    let page;
    try {
      page = await client.list<T>(resource, {
        namespace: o.namespace,
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        limit,
        continue: cont,
      }, { signal, timeoutMs: o.timeoutMs });
    } catch (e) {
      // The continue token expired mid-list: start over in one unpaginated list.
      if (cont && isGone(e)) {
        items.length = 0;
        cont = undefined;
        limit = undefined;
        continue;
      }
      throw e;
    }
    // A scope removed while its list was in flight leaves nothing behind.
    if (signal.aborted) throw signal.reason;
    for (const item of page.items ?? []) items.push(trim(item));
    cont = page.metadata.continue || undefined;
    resourceVersion = page.metadata.resourceVersion ?? "";
  } while (cont);
  return { items, resourceVersion };
}
