/** The engine's state as JSON for /debug/difftracker/services and /debug/difftracker/buffered. */
import type { ServiceBook } from "./book.ts";
import type { LocationsUpdater } from "./locations_updater.ts";

const iso = (t: number) => (t > 0 ? new Date(t).toISOString() : undefined);

export function servicesView(
  book: ServiceBook,
  locations: LocationsUpdater,
  flags: { started: boolean; closed: boolean },
): Record<string, unknown> {
  return {
    ...flags,
    services: [...book.records.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => ({
      name: r.name,
      key: book.keyByName.get(r.name),
      kind: r.kind,
      state: r.state,
      wantPresent: r.wantPresent,
      adopted: r.adopted,
      inFlight: r.token !== undefined,
      specVersion: r.specVersion,
      appliedVersion: r.appliedVersion,
      attempts: r.attempts,
      retryAt: iso(r.notBefore),
      parked: r.parked,
      terminalError: r.terminalError,
      lastError: r.lastError,
      frontendIP: r.frontendIP,
      since: iso(r.since),
      azureReferences: locations.listedReferences(r.name),
      pods: Object.fromEntries(book.latest.get(r.name) ?? []),
    })),
    locations: locations.debug(),
  };
}

export function bufferedView(book: ServiceBook, now: number): Record<string, unknown> {
  const services: Record<string, unknown[]> = {};
  let total = 0;
  for (const [name, buf] of [...book.buffers].sort(([a], [b]) => a.localeCompare(b))) {
    total += buf.length;
    services[name] = buf.map((c) => ({
      source: c.source,
      op: c.op,
      podIP: c.podIP,
      nodeIP: c.nodeIP,
      bufferedAt: new Date(c.at).toISOString(),
      ageSeconds: (now - c.at) / 1000,
    }));
  }
  return { total, services };
}
