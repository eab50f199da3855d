/**
 * The controller's HTTP surfaces with Hono: liveness and readiness on the health address, the exporters' metrics
 * (and debug routes) on the metrics address.
 */
import { Hono } from "hono";
import type { CloudBackend, MetricsExporter } from "../plugin/types.ts";
import type { Logger } from "../log.ts";
import { parseBindAddress } from "./bind.ts";

export interface Readiness {
  /** Undefined when ready; otherwise why not (e.g. "caches not synced"). */
  notReadyReason(): string | undefined;
  /** Undefined while the process does its work; otherwise why not (a loop ended or is wedged): the kubelet restarts it. */
  notLiveReason?(): string | undefined;
}

export function healthApp(readiness: Readiness): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    const why = readiness.notLiveReason?.();
    return why === undefined ? c.text("ok") : c.text(`not live: ${why}`, 503);
  });
  app.get("/readyz", (c) => {
    const why = readiness.notReadyReason();
    return why === undefined ? c.text("ok") : c.text(`not ready: ${why}`, 503);
  });
  return app;
}

export function metricsApp(exporters: () => readonly MetricsExporter[], debug?: Hono): Hono {
  const app = new Hono();
  app.get("*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    const ex = exporters().find((e) => e.path === path && e.render);
    if (!ex) return next();
    const body = await ex.render!();
    return c.body(body, 200, { "content-type": ex.contentType ?? "text/plain; charset=utf-8" });
  });
  if (debug) app.route("/debug", debug);
  return app;
}

/** `/debug/<path>`: the JSON snapshots plugins offer (e.g. the Azure engine's `difftracker/services`). */
export function debugApp(
  backends: () => readonly (CloudBackend | undefined)[],
  own: () => Record<string, () => unknown> = () => ({}),
): Hono {
  const app = new Hono();
  app.get("/*", (c) => {
    const path = new URL(c.req.url).pathname.replace(/^\/debug\/?/, "");
    const offered: string[] = [];
    for (const routes of [own(), ...backends().map((b) => b?.debug?.() ?? {})]) {
      if (routes[path]) return c.json(routes[path]());
      offered.push(...Object.keys(routes));
    }
    return c.json(
      { error: `no debug snapshot "${path}"`, available: offered.map((p) => `/debug/${p}`) },
      404,
    );
  });
  return app;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export function serve(app: Hono, bind: string, logger: Logger, name: string): RunningServer {
  const { hostname, port } = parseBindAddress(bind);
  const servers = hostname === "" ? serveEveryAddress(app, port) : [listen(app, hostname, port)];
  const actual = (servers[0].addr as Deno.NetAddr).port;
  logger.info(`${name} server listening`, {
    address: servers.map((s) => `${(s.addr as Deno.NetAddr).hostname}:${actual}`).join(", "),
  });
  return { port: actual, close: async () => void await Promise.all(servers.map((s) => s.shutdown())) };
}

function listen(app: Hono, hostname: string, port: number): Deno.HttpServer {
  return Deno.serve({ hostname, port, onListen: () => {} }, app.fetch);
}

/**
 * IPv4 and IPv6 on one port, so probes of an IPv6-only (or IPv4-only) cluster reach it: `[::]` first, which on
 * most Linux hosts takes IPv4 too; `0.0.0.0` beside it where `[::]` is IPv6-only; `0.0.0.0` alone without IPv6.
 */
function serveEveryAddress(app: Hono, port: number): Deno.HttpServer[] {
  const out: Deno.HttpServer[] = [];
  try {
    out.push(listen(app, "::", port));
  } catch { /* no IPv6 on this host */ }
  const samePort = out.length ? (out[0].addr as Deno.NetAddr).port : port;
  try {
    out.push(listen(app, "0.0.0.0", samePort));
  } catch (error) {
    // AddrInUse: `[::]` is dual-stack and already takes IPv4.
    if (out.length === 0) throw error;
  }
  return out;
}
