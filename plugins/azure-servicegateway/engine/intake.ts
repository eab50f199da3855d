/** What Kubernetes says about Services (apply, remove) turned into the book's wishes and memberships. */
import { isIP } from "node:net";
import type { BackendServiceState } from "../../../mod.ts";
import type { ServiceSpec } from "../arm/gateway_api.ts";
import type { ServiceBook } from "./book.ts";
import type { EngineContext } from "./context.ts";
import { desire, newRecord } from "./service_state.ts";

export class ServiceIntake {
  constructor(private readonly ctx: EngineContext, private readonly book: ServiceBook) {}

  apply(desired: BackendServiceState): void {
    const { book, ctx } = this;
    if (!desired.key || !desired.uid) {
      ctx.log.warn("apply ignored: desired state needs key and uid", { key: desired.key, uid: desired.uid });
      return;
    }
    const name = ctx.config.servicePrefix + desired.uid;
    const previous = book.nameByKey.get(desired.key);
    // The same key with a new UID is a recreated Service: the old one's gateway service goes.
    if (previous !== undefined && previous !== name) this.removeName(previous);
    book.nameByKey.set(desired.key, name);
    book.keyByName.set(name, desired.key);

    const now = ctx.clock.now();
    const rec = book.records.get(name) ?? newRecord(name, "inbound", now);
    const spec: ServiceSpec = {
      kind: "inbound",
      name,
      key: desired.key,
      ports: desired.ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort,
        protocol: p.protocol,
      })),
    };
    const old = book.specs.get(name);
    const specChanged = !old || JSON.stringify(old) !== JSON.stringify(spec);
    book.specs.set(name, spec);
    if (rec.adopted) {
      book.active.set(name, new Map()); // claimed: Kubernetes' leaders replace what was listed
      book.published.add(name); // the previous process may have written its frontend IP to the Service
    }
    book.put(name, desire(rec, true, specChanged, now));

    const members = new Map<string, string>();
    for (const l of desired.leaders) {
      if (!isIP(l.podIP) || !l.nodeIP || !isIP(l.nodeIP)) {
        ctx.log.warn("leader not routable through the gateway: needs a pod IP and a node IP", {
          key: desired.key,
          pod: l.podName,
          podIP: l.podIP,
          nodeIP: l.nodeIP,
        });
        continue;
      }
      members.set(l.podIP, l.nodeIP);
    }
    book.setMembership(name, members, "endpoint");
  }

  remove(key: string, uid: string): void {
    const name = this.ctx.config.servicePrefix + uid;
    if (this.book.nameByKey.get(key) === name) this.book.nameByKey.delete(key);
    this.removeName(name);
  }

  private removeName(name: string): void {
    const rec = this.book.records.get(name);
    if (!rec) return;
    this.book.setMembership(name, new Map(), "endpoint");
    this.book.put(name, desire(rec, false, false, this.ctx.clock.now()));
  }
}
