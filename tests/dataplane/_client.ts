/**
 * The data-plane client: runs in its own network namespace and prints one JSON line per answer, with epoch
 * millisecond timestamps comparable to the test's (same clock).
 *
 * - `fresh <ip> <port> <everyMs> <timeoutMs>`: a new TCP connection every `everyMs` (not waiting for the
 *   previous one), `GET /`, the body is the pod that answered: `{"s":start,"e":end,"pod":"web-1"}` or
 *   `{"s":start,"e":end,"err":"ECONNREFUSED"}`.
 * - `long <ip> <port> <everyMs> <timeoutMs>`: one connection kept open, a line sent every `everyMs`, each reply
 *   printed as `{"s":sent,"e":received,"pod":..., "conn": n}`; on error or no answer within `timeoutMs`
 *   `{"err":...,"conn":n}` and a new connection.
 */
const [mode, ip, portText, everyText, timeoutText] = Deno.args;
const port = Number(portText);
const everyMs = Number(everyText);
const now = () => performance.timeOrigin + performance.now();
const print = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const errName = (e: unknown) => (e instanceof Error ? (e as { code?: string }).code ?? e.name : String(e));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const decoder = new TextDecoder();

/** Connects to ip:port; a connect that takes longer than `timeoutMs` fails as TIMEOUT (and is closed if it lands). */
async function connectWithin(timeoutMs: number): Promise<Deno.TcpConn> {
  const connecting = Deno.connect({ hostname: ip, port });
  const raced = await Promise.race([connecting, sleep(timeoutMs).then(() => undefined)]);
  if (!raced) {
    connecting.then((c) => c.close(), () => {});
    throw Object.assign(new Error("connect timeout"), { code: "TIMEOUT" });
  }
  return raced;
}

async function fresh(timeoutMs: number): Promise<void> {
  const s = now();
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => {
    try {
      conn?.close();
    } catch { /* closed */ }
  }, timeoutMs);
  try {
    conn = await connectWithin(timeoutMs);
    await conn.write(new TextEncoder().encode(`GET / HTTP/1.0\r\nHost: ${ip}\r\n\r\n`));
    let text = "";
    const buf = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    const body = text.split("\r\n\r\n")[1];
    if (!text.startsWith("HTTP/1.") || body === undefined) {
      throw new Error(`bad answer ${JSON.stringify(text)}`);
    }
    print({ s, e: now(), pod: body });
  } catch (e) {
    print({ s, e: now(), err: errName(e) });
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

/** Like a database driver with a socket timeout: no answer within `timeoutMs` ends the connection. */
async function long(timeoutMs: number): Promise<void> {
  for (let n = 1;; n++) {
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await connectWithin(timeoutMs);
      const buf = new Uint8Array(4096);
      while (true) {
        const s = now();
        await conn.write(new TextEncoder().encode("ping\n"));
        const got = await Promise.race([conn.read(buf), sleep(timeoutMs).then(() => "timeout" as const)]);
        if (got === "timeout") throw Object.assign(new Error("no answer"), { code: "TIMEOUT" });
        if (got === null) throw Object.assign(new Error("closed by peer"), { code: "EOF" });
        print({ s, e: now(), pod: decoder.decode(buf.subarray(0, got)).trim(), conn: n });
        await sleep(everyMs);
      }
    } catch (e) {
      print({ e: now(), err: errName(e), conn: n });
      try {
        conn?.close();
      } catch { /* closed */ }
      await sleep(everyMs);
    }
  }
}

if (mode === "fresh") {
  const timeoutMs = Number(timeoutText ?? 1000);
  for (let next = now();; next += everyMs) {
    fresh(timeoutMs);
    await sleep(Math.max(0, next + everyMs - now()));
  }
} else if (mode === "long") {
  await long(Number(timeoutText ?? 3000));
} else {
  throw new Error(`expected mode "fresh" or "long", found ${JSON.stringify(mode)}`);
}
