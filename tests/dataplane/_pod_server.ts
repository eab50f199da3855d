/**
 * The program of a data-plane pod: runs inside the pod's network namespace and answers with its pod name.
 * HTTP on :8080 (`/` -> the name, `/healthz` -> ok) and a line protocol on :9000 (every line gets the name
 * back), for long-lived TCP connections. Prints "listening" once both accept connections.
 *
 * Usage: deno run --allow-net _pod_server.ts <pod name>
 */
const name = Deno.args[0];
if (!name) throw new Error("expected the pod name as the first argument, found none");

const http = Deno.serve({ hostname: "0.0.0.0", port: 8080, onListen() {} }, (req) => {
  const path = new URL(req.url).pathname;
  return new Response(path === "/healthz" ? "ok" : name, { headers: { connection: "close" } });
});

const lines = Deno.listen({ hostname: "0.0.0.0", port: 9000 });
const reply = new TextEncoder().encode(`${name}\n`);

async function serveLines(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(4096);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      for (const byte of buf.subarray(0, n)) if (byte === 10) await conn.write(reply);
    }
  } catch { /* the peer went away */ }
  try {
    conn.close();
  } catch { /* already closed */ }
}

console.log("listening");
for await (const conn of lines) serveLines(conn);
await http.finished;
