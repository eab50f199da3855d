/** The engine's JSON debug endpoints as a Hono sub-app: mount it at `/debug/difftracker`. */
import { Hono } from "hono";

export interface DebugSource {
  debugServices(): Record<string, unknown>;
  debugBuffered(): Record<string, unknown>;
}

/** `GET /services` and `GET /buffered`; e.g. `app.route("/debug/difftracker", difftrackerDebugApp(engine))`. */
export function difftrackerDebugApp(source: DebugSource): Hono {
  const app = new Hono();
  app.get("/services", (c) => c.json(source.debugServices()));
  app.get("/buffered", (c) => c.json(source.debugBuffered()));
  return app;
}
