/**
 * Taking over what the gateway holds: at start (listed services become adopted records, leftovers of a cut-short
 * create too) and when the reconciliation finds divergence (lost, drifted, leaked services).
 */
import type { OwnedResources } from "../arm/gateway_api.ts";
import type { ServiceBook } from "./book.ts";
import type { EngineContext } from "./context.ts";
import type { LocationMap } from "./locations.ts";
import type { Repair } from "./reconcile.ts";
import { adoptedRecord, desire, drifted, lost, newRecord, type ServiceKind } from "./service_state.ts";

export class Adoption {
  /** Unclaimed adopted services count as orphans (after resyncDone or the grace period). */
  orphansReleased = false;

  constructor(private readonly ctx: EngineContext, private readonly book: ServiceBook) {}

  /** Services listed at start: adopted as Created, their addresses kept until claimed (no blink on restart). */
  adoptServices(services: readonly { name: string; outbound: boolean }[], azure: LocationMap): void {
    const { ctx, book } = this;
    const now = ctx.clock.now();
    const listed = new Map<string, Map<string, string>>();
    for (const [node, loc] of azure) {
      for (const [podIP, svcs] of loc) {
        for (const s of svcs) {
          if (!listed.has(s)) listed.set(s, new Map());
          listed.get(s)!.set(podIP, node);
        }
      }
    }
    for (const s of services) {
      if (!s.name.startsWith(ctx.config.servicePrefix)) {
        ctx.log.info("leaving a service the engine does not own", { service: s.name });
        continue;
      }
      const kind: ServiceKind = s.outbound ? "outbound" : "inbound";
      const existing = book.records.get(s.name);
      if (existing) {
        // Claimed by Kubernetes before the listing came back: it exists, re-apply its spec idempotently.
        book.published.add(s.name);
        book.put(s.name, {
          ...existing,
          state: "Created",
          mayExist: true,
          registered: true,
          appliedVersion: -1,
          since: now,
        });
        continue;
      }
      if (kind === "outbound") book.specs.set(s.name, { kind, name: s.name });
      book.records.set(s.name, adoptedRecord(s.name, kind, now));
      book.active.set(s.name, listed.get(s.name) ?? new Map());
    }
    book.updateGauge();
  }

  /** Resources of services never registered (a create cut short): claimed ones are created, others deleted. */
  adoptLeftovers(resources: readonly { name: string; kind: ServiceKind }[]): void {
    const { ctx, book } = this;
    const now = ctx.clock.now();
    for (const r of resources) {
      if (!r.name.startsWith(ctx.config.servicePrefix)) continue;
      const existing = book.records.get(r.name);
      if (existing) {
        if (!existing.mayExist) book.records.set(r.name, { ...existing, mayExist: true });
        continue;
      }
      if (r.kind === "outbound") book.specs.set(r.name, { kind: "outbound", name: r.name });
      book.records.set(r.name, { ...newRecord(r.name, r.kind, now), mayExist: true, adopted: true });
    }
    book.updateGauge();
  }

  /**
   * Which Kubernetes Service an unclaimed gateway service belonged to, from its resources' tags: if it goes as
   * an orphan (the Service opted out while no engine ran), that Service's status is cleared.
   */
  learnKeys(resources: readonly OwnedResources[], only?: string): void {
    const { book } = this;
    for (const r of resources) {
      if (!r.key || (only !== undefined && r.name !== only) || book.keyByName.has(r.name)) continue;
      if (!book.records.get(r.name)?.adopted) continue;
      book.keyByName.set(r.name, r.key);
      book.published.add(r.name);
    }
  }

  /** Unclaimed adopted services go: their addresses first, then the services. */
  releaseOrphans(): void {
    const { ctx, book } = this;
    this.orphansReleased = true;
    for (const rec of [...book.records.values()]) {
      if (!rec.adopted) continue;
      ctx.log.info("deleting orphaned gateway service", {
        service: rec.name,
        serviceUID: book.uidOf(rec.name),
      });
      book.active.delete(rec.name);
      book.put(rec.name, desire(rec, false, false, ctx.clock.now()));
    }
  }

  repair(r: Repair, resources: readonly OwnedResources[]): void {
    const { ctx, book } = this;
    const now = ctx.clock.now();
    ctx.m.repairs.inc({ kind: r.kind });
    ctx.log.warn("gateway diverged from the engine; repairing", { service: r.name, repair: r.kind });
    const rec = book.records.get(r.name);
    if (r.kind === "lost" && rec) return book.put(r.name, lost(rec, now));
    if (r.kind === "drifted" && rec) return book.put(r.name, drifted(rec));
    if (r.kind !== "leaked") return;
    if (r.serviceKind === "outbound") book.specs.set(r.name, { kind: "outbound", name: r.name });
    const orphan = r.registered
      ? adoptedRecord(r.name, r.serviceKind, now)
      : { ...newRecord(r.name, r.serviceKind, now), mayExist: true, adopted: true };
    book.records.set(r.name, orphan);
    this.learnKeys(resources, r.name);
    if (this.orphansReleased) book.put(r.name, desire(orphan, false, false, now));
    else book.updateGauge(); // before the resync it may still be claimed, like the services listed at start
  }
}
