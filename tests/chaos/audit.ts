/**
 * Reads the API server's audit log (JSON lines) for writes to zen-lead's managed objects by replicas that did not
 * hold the election Lease at that moment. The holder over time comes from the Lease writes themselves (their
 * request bodies name the holder); each replica runs under its own ServiceAccount, so the log names the writer.
 */

export interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stage?: string;
  requestObject?: { spec?: { holderIdentity?: string | null } };
}

export interface NonHolderWrite {
  at: string;
  writer: string;
  holder: string;
  verb: string;
  object: string;
  code: number;
}

export interface AuditFindings {
  /** Writes that succeeded while the writer did not hold the Lease: must be none. */
  successful: NonHolderWrite[];
  /** Attempts by a non-holder that the API server rejected (a 409 from the resourceVersion precondition). */
  rejected: NonHolderWrite[];
  /** Successful writes to managed objects by replicas, in all. */
  managedWrites: number;
}

export interface AuditQuery {
  leaseNamespace: string;
  leaseName: string;
  /** The replica identity (POD_NAME) of a username, or undefined for users that are not replicas. */
  identityOf(username: string): string | undefined;
  /** Whether the object is one zen-lead manages (a leader Service or slice in the workload namespaces). */
  managed(ref: NonNullable<AuditEvent["objectRef"]>): boolean;
}

const WRITE_VERBS = new Set(["create", "update", "patch", "delete"]);

export function parseAudit(text: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch { /* a line cut by a killed API server */ }
  }
  return out;
}

export function nonHolderWrites(events: AuditEvent[], q: AuditQuery): AuditFindings {
  const done = events.filter((e) => (e.stage ?? "ResponseComplete") === "ResponseComplete")
    .sort((a, b) => a.requestReceivedTimestamp.localeCompare(b.requestReceivedTimestamp));
  // Microsecond RFC 3339 timestamps of one clock sort as strings.
  const holders: { at: string; holder: string }[] = [];
  for (const e of done) {
    const r = e.objectRef;
    if (r?.resource !== "leases" || r.namespace !== q.leaseNamespace || r.name !== q.leaseName) continue;
    if (!WRITE_VERBS.has(e.verb) || !ok(e)) continue;
    holders.push({ at: e.requestReceivedTimestamp, holder: e.requestObject?.spec?.holderIdentity ?? "" });
  }
  const holderAt = (at: string) => {
    let h = "";
    for (const x of holders) {
      if (x.at > at) break;
      h = x.holder;
    }
    return h;
  };
  const findings: AuditFindings = { successful: [], rejected: [], managedWrites: 0 };
  for (const e of done) {
    const r = e.objectRef;
    const writer = q.identityOf(e.user.username);
    if (!r || !writer || !WRITE_VERBS.has(e.verb) || !q.managed(r)) continue;
    const holder = holderAt(e.requestReceivedTimestamp);
    if (ok(e)) findings.managedWrites++;
    if (holder === writer) continue;
    const w: NonHolderWrite = {
      at: e.requestReceivedTimestamp,
      writer,
      holder,
      verb: e.verb,
      object: `${r.resource}${r.subresource ? "/" + r.subresource : ""} ${r.namespace}/${r.name}`,
      code: e.responseStatus?.code ?? 0,
    };
    (ok(e) ? findings.successful : findings.rejected).push(w);
  }
  return findings;
}

function ok(e: AuditEvent): boolean {
  const c = e.responseStatus?.code ?? 0;
  return c >= 200 && c < 300;
}
