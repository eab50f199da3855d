/**
 * Post-GC memory readings of the controller through its V8 inspector (`--inspect` on loopback): a forced full
 * collection first, so the heap figure is the live set rather than the garbage V8 has not collected yet, and an
 * optional heap snapshot summarized by constructor to see which objects a run added.
 */

/** Memory right after a forced full collection, in MB (RSS and the rest from the same moment). */
export interface PostGcMemory {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  /** Memory of C++ objects bound to JS (e.g. buffers), and of ArrayBuffers within it. */
  externalMb: number;
  arrayBuffersMb: number;
  /** Memory V8 itself took from malloc (outside the heap). */
  mallocedMb: number;
  /** Used MB by V8 heap space (old_space, new_space, large_object_space, ...), spaces in use only. */
  spaces: Record<string, number>;
}

/** One row of a heap snapshot summary: objects of one constructor (or string, array, closure ...). */
export interface HeapClass {
  name: string;
  count: number;
  selfMb: number;
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: { chunk?: string };
  result?: { result?: { value?: unknown }; exceptionDetails?: unknown };
  error?: { message: string };
}

const MB = 2 ** 20;

// deno-fmt-ignore
const READ_MEMORY = `(async () => {
  const v8 = await import("node:v8");
  const p = await import("node:process");
  const m = p.memoryUsage();
  const h = v8.getHeapStatistics();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_used_size > 0) spaces[s.space_name] = s.space_used_size;
  return JSON.stringify({ m, malloced: h.malloced_memory, spaces });
})()`;

export class Inspector {
  private nextId = 0;
  private readonly pending = new Map<number, (m: CdpMessage) => void>();
  private chunks: string[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data) as CdpMessage;
      if (m.method === "HeapProfiler.addHeapSnapshotChunk") this.chunks.push(m.params?.chunk ?? "");
      else if (m.id !== undefined) this.pending.get(m.id)?.(m);
    };
    ws.onclose = () => {
      for (const done of this.pending.values()) done({ error: { message: "inspector connection closed" } });
      this.pending.clear();
    };
  }

  /** Connects to the inspector on 127.0.0.1:`port`, waiting up to `timeoutMs` for it to listen. */
  static async connect(port: number, timeoutMs = 30_000): Promise<Inspector> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
          webSocketDebuggerUrl: string;
        }[];
        const ws = new WebSocket(list[0].webSocketDebuggerUrl);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error(`inspector on 127.0.0.1:${port}: WebSocket failed`));
        });
        return new Inspector(ws);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`inspector on 127.0.0.1:${port} not reachable: ${e}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<CdpMessage> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => {
        this.pending.delete(id);
        if (m.error) reject(new Error(`${method}: ${m.error.message}`));
        else resolve(m);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Two full collections (the second frees what the first's finalizers released), then the readings. */
  async postGcMemory(): Promise<PostGcMemory> {
    await this.call("HeapProfiler.collectGarbage");
    await this.call("HeapProfiler.collectGarbage");
    const res = await this.call("Runtime.evaluate", {
      expression: READ_MEMORY,
      awaitPromise: true,
      returnByValue: true,
    });
    if (res.result?.exceptionDetails) {
      throw new Error(`reading memory: ${JSON.stringify(res.result.exceptionDetails).slice(0, 300)}`);
    }
    const v = JSON.parse(String(res.result?.result?.value)) as {
      m: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
      malloced: number;
      spaces: Record<string, number>;
    };
    return {
      rssMb: v.m.rss / MB,
      heapUsedMb: v.m.heapUsed / MB,
      heapTotalMb: v.m.heapTotal / MB,
      externalMb: v.m.external / MB,
      arrayBuffersMb: v.m.arrayBuffers / MB,
      mallocedMb: v.malloced / MB,
      spaces: Object.fromEntries(Object.entries(v.spaces).map(([k, b]) => [k, b / MB])),
    };
  }

  /** A heap snapshot (it collects garbage first) summarized by object class; costs ~5x the heap in this process. */
  async heapSummary(): Promise<HeapClass[]> {
    this.chunks = [];
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const snapshot = JSON.parse(this.chunks.join("")) as HeapSnapshot;
    this.chunks = [];
    return summarizeSnapshot(snapshot);
  }

  close(): void {
    this.ws.close();
  }
}

/** The parts of V8's heap snapshot format read here. */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size per class: objects by constructor name, everything else by its node type. */
export function summarizeSnapshot(s: HeapSnapshot): HeapClass[] {
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = s.snapshot.meta.node_types[0];
  const byClass = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]];
    const name = type === "object" || type === "closure" ? `${type} ${s.strings[s.nodes[i + nameAt]]}` : type;
    const c = byClass.get(name) ?? { count: 0, bytes: 0 };
    c.count++;
    c.bytes += s.nodes[i + sizeAt];
    byClass.set(name, c);
  }
  return [...byClass.entries()]
    .map(([name, c]) => ({ name, count: c.count, selfMb: c.bytes / MB }))
    .sort((a, b) => b.selfMb - a.selfMb);
}

/** What grew between two summaries, largest growth first (classes in either). */
export function heapGrowth(before: readonly HeapClass[], after: readonly HeapClass[], top = 25): HeapClass[] {
  const b = new Map(before.map((c) => [c.name, c]));
  const a = new Map(after.map((c) => [c.name, c]));
  return [...new Set([...b.keys(), ...a.keys()])].map((name) => {
    const x = b.get(name);
    const y = a.get(name);
    return { name, count: (y?.count ?? 0) - (x?.count ?? 0), selfMb: (y?.selfMb ?? 0) - (x?.selfMb ?? 0) };
  }).sort((p, q) => Math.abs(q.selfMb) - Math.abs(p.selfMb)).slice(0, top);
}
