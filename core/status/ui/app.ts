/**
 * The read-only status page on `--ui-bind-address`: server-rendered HTML (Hono), its script and stylesheet as
 * files under a strict Content-Security-Policy, the status document as JSON, and server-sent events that push
 * re-rendered fragments when a Service is reconciled, its leader changes or a probe flips.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { ANN, isOptedIn } from "../../leader/annotations.ts";
import { controllerStatus, serviceStatus } from "../snapshot.ts";
import { liveExplain, type LiveSources } from "../live.ts";
import { APP_JS, STYLE_CSS } from "./assets.ts";
import { page, sectionId, servicePanel, type ServiceView, summaryRows } from "./page.ts";

/** Nothing but this origin's script, style and event stream; no inline code, no framing, no forms. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Open event streams allowed at once: a page left open in many tabs must not cost the controller. */
export const MAX_STREAMS = 64;
/** Changes of one Service within this window go out as one update. */
const COALESCE_MS = 25;

interface Update {
  event: "service" | "summary";
  data: string;
}

export interface StatusPage {
  app: Hono;
  /** Number of open event streams (tests). */
  readonly streams: number;
  close(): void;
}

export function statusPage(src: LiveSources): StatusPage {
  const c = src.controller;
  const clients = new Set<(u: Update) => void>();
  const closers = new Set<() => void>();
  const pending = new Map<string, string | undefined>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const view = (key: string, now: number): ServiceView | undefined => {
    const svc = c.services.get(key);
    if (!svc || !isOptedIn(svc.metadata.annotations)) return undefined;
    const explanation = liveExplain(src, key, now);
    if (!explanation) return undefined;
    const st = serviceStatus(c, svc.metadata.namespace ?? "", svc.metadata.name ?? "");
    const leaderSvc = c.services.get(`${explanation.service.namespace}/${explanation.leaderService}`);
    return {
      key,
      explanation,
      changes: st.changes,
      probes: st.probes,
      leaderSince: leaderSvc?.metadata.annotations?.[ANN.leaderLastSwitchTime],
    };
  };
  // The last view of each Service: a change re-renders its own Service only; the summary reuses the others.
  const cache = new Map<string, ServiceView>();
  const optedInKeys = () =>
    c.services.list()
      .filter((s) => isOptedIn(s.metadata.annotations))
      .map((s) => `${s.metadata.namespace}/${s.metadata.name}`)
      .sort();
  const views = (now: number, fresh: boolean): ServiceView[] => {
    const keys = optedInKeys();
    const wanted = new Set(keys);
    for (const k of cache.keys()) if (!wanted.has(k)) cache.delete(k);
    const out: ServiceView[] = [];
    for (const k of keys) {
      const v = (!fresh && cache.get(k)) || view(k, now);
      if (!v) continue;
      cache.set(k, v);
      out.push(v);
    }
    return out;
  };

  const flush = async () => {
    timer = undefined;
    const batch = [...pending];
    pending.clear();
    if (clients.size === 0) return;
    const now = Date.now();
    for (const [key, announce] of batch) {
      const v = view(key, now);
      if (v) cache.set(key, v);
      else cache.delete(key);
      const markup = v ? String(await servicePanel(v, now)) : "";
      const u: Update = {
        event: "service",
        data: JSON.stringify({ id: sectionId(key), html: markup, announce }),
      };
      for (const send of clients) send(u);
    }
    const summary: Update = {
      event: "summary",
      data: JSON.stringify({ html: String(await summaryRows(views(now, false), now)) }),
    };
    for (const send of clients) send(summary);
  };
  const changed = (key: string, announce?: string) => {
    if (clients.size === 0) return;
    pending.set(key, announce ?? pending.get(key));
    timer ??= setTimeout(() => void flush().catch(() => {}), COALESCE_MS);
  };
  const unsubscribe = [
    c.onReconciled((key) => changed(key)),
    c.history.onRecord((ch) =>
      changed(ch.service, `${ch.service}: leader is now ${ch.to ?? "none"} (${ch.reason})`)
    ),
    c.probes.onTransition((key) => changed(key)),
  ];

  const app = new Hono();
  app.use("*", async (ctx, next) => {
    if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") {
      return ctx.text("read-only: only GET and HEAD are served", 405, { allow: "GET, HEAD" });
    }
    await next();
    ctx.header("content-security-policy", CSP);
    ctx.header("x-content-type-options", "nosniff");
    ctx.header("referrer-policy", "no-referrer");
    ctx.header("cache-control", "no-store");
  });
  app.get("/", async (ctx) => {
    const now = Date.now();
    const body = await page(views(now, true), {
      identity: src.identity,
      active: c.isActive,
      configuration: src.configuration(),
      now,
    });
    return ctx.html(body);
  });
  app.get("/app.js", (ctx) => ctx.body(APP_JS, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/style.css", (ctx) => ctx.body(STYLE_CSS, 200, { "content-type": "text/css; charset=utf-8" }));
  app.get("/api/status", (ctx) => ctx.json(controllerStatus(c, src.identity)));
  app.get("/events", (ctx) => {
    if (clients.size >= MAX_STREAMS) return ctx.text(`too many open event streams (${MAX_STREAMS})`, 503);
    return streamSSE(ctx, async (stream) => {
      const send = (u: Update) => void stream.writeSSE(u).catch(() => {});
      clients.add(send);
      let open = true;
      let wake = () => {};
      const ended = new Promise<void>((r) => wake = r);
      const end = () => {
        open = false;
        clients.delete(send);
        wake();
      };
      const closer = () => {
        end();
        void stream.close().catch(() => {});
      };
      closers.add(closer);
      stream.onAbort(end);
      try {
        await stream.writeSSE({ event: "hello", data: "{}" });
        // A comment line now and then keeps proxies from closing an idle stream.
        while (open) {
          let t: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([new Promise((r) => t = setTimeout(r, 15_000)), ended]);
          clearTimeout(t);
          if (open) await stream.write(": keep-alive\n\n");
        }
      } finally {
        end();
        closers.delete(closer);
      }
    });
  });
  app.notFound((ctx) => ctx.text("not found", 404));

  return {
    app,
    get streams() {
      return clients.size;
    },
    close() {
      for (const u of unsubscribe) u();
      // Open streams end now, or a server shutdown would wait for them.
      for (const close of [...closers]) close();
      clients.clear();
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
