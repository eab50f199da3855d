/**
 * An HTTP health target inside a pod's network namespace, for the health e2e on real pod IPs. Listens on
 * 0.0.0.0:8080 of its namespace and answers every request by its mode:
 * `ok` 200, `fail` 500, `hang` never (until the mode changes or it goes down), `flap` 200 and 500 by turns.
 *
 * Protocol: prints `{"listening":true}` once listening, `{"hit":<epoch ms>}` per request; reads lines
 * `{"mode":"fail"}`, `{"down":true}` (stop listening: connections are refused), `{"up":true}` on stdin and
 * answers `{"ack":true}` once in force.
 * Usage: deno run --allow-net _http_target_main.ts <mode>
 */
type Mode = "ok" | "fail" | "hang" | "flap";
let mode = (Deno.args[0] ?? "ok") as Mode;
let flapOk = false;
const out = new TextEncoder();
const say = (o: unknown) => Deno.stdout.writeSync(out.encode(JSON.stringify(o) + "\n"));
let release!: () => void;
let released = new Promise<void>((r) => release = r);

const handler = async (): Promise<Response> => {
  say({ hit: Date.now() });
  if (mode === "hang") {
    await released;
    return new Response("gave up", { status: 503 });
  }
  const healthy = mode === "ok" || (mode === "flap" && (flapOk = !flapOk));
  return new Response(healthy ? "ok" : "failing", { status: healthy ? 200 : 500 });
};
const listen = () => Deno.serve({ hostname: "0.0.0.0", port: 8080, onListen() {} }, handler);
let server: Deno.HttpServer | undefined = listen();
say({ listening: true });

const wake = () => {
  release();
  released = new Promise<void>((r) => release = r);
};
let buf = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buf += chunk;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const cmd = JSON.parse(buf.slice(0, i)) as { mode?: Mode; down?: boolean; up?: boolean };
    buf = buf.slice(i + 1);
    if (cmd.mode) {
      mode = cmd.mode;
      wake();
    }
    if (cmd.down && server) {
      const s = server;
      server = undefined;
      wake();
      await s.shutdown();
    }
    if (cmd.up) server ??= listen();
    say({ ack: true });
  }
}
wake();
await server?.shutdown();
