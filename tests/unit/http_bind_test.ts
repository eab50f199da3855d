/** The default bind addresses (`:8080`, `:8081`) serve IPv4 and IPv6 alike. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { parseBindAddress } from "../../core/http/bind.ts";
import { serve } from "../../core/http/servers.ts";
import { RootLogger } from "../../core/log.ts";

Deno.test("an empty host means every address; explicit hosts are kept", () => {
  assert.deepEqual(parseBindAddress(":8080"), { hostname: "", port: 8080 });
  assert.deepEqual(parseBindAddress("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseBindAddress("[::1]:9000"), { hostname: "::1", port: 9000 });
});

Deno.test("a server bound to :port answers on 127.0.0.1 and on [::1]", async () => {
  const app = new Hono().get("/", (c) => c.text("ok"));
  const server = serve(app, ":0", new RootLogger("error", () => {}), "test");
  try {
    for (const host of ["127.0.0.1", "[::1]"]) {
      const res = await fetch(`http://${host}:${server.port}/`);
      assert.equal(await res.text(), "ok", host);
    }
  } finally {
    await server.close();
  }
});
