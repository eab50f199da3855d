/**
 * Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol with Deno's own WebSocket:
 * no browser library. `ensureChromium` installs the package when it is missing (root, apt-get).
 */

export const CHROMIUM = "/usr/bin/chromium";

/** The path of chromium, installing it with apt-get when missing; an Error says why it is not available. */
export async function ensureChromium(): Promise<string> {
  const exists = () => Deno.stat(CHROMIUM).then(() => true, () => false);
  if (await exists()) return CHROMIUM;
  if (Deno.uid() !== 0) throw new Error(`${CHROMIUM} is missing and installing it needs root`);
  console.log("[chromium] installing Debian's chromium package (apt-get)...");
  for (
    const args of [["update", "-qq"], ["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", "chromium"]]
  ) {
    const r = await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!r.success) throw new Error(`apt-get ${args.join(" ")} failed with exit code ${r.code}`);
  }
  if (!(await exists())) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is not there`);
  return CHROMIUM;
}

type Listener = (params: Record<string, unknown>) => void;

/** One DevTools session over a page target's WebSocket. */
export class DevTools {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Map<string, Set<Listener>>();

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data as string);
      if (msg.id !== undefined) {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.error) w?.reject(new Error(`${msg.error.message} (${msg.error.code})`));
        else w?.resolve(msg.result);
      } else {
        for (const l of this.listeners.get(msg.method) ?? []) l(msg.params ?? {});
      }
    };
  }

  static connect(url: string): Promise<DevTools> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new DevTools(ws));
      ws.onerror = (e) =>
        reject(new Error(`DevTools WebSocket ${url}: ${(e as ErrorEvent).message ?? "error"}`));
    });
  }

  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on(method: string, listener: Listener): void {
    let set = this.listeners.get(method);
    if (!set) this.listeners.set(method, set = new Set());
    set.add(listener);
  }

  /** Resolves with the next event `method` (e.g. Page.loadEventFired). */
  once(method: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
      const l: Listener = (p) => {
        clearTimeout(t);
        this.listeners.get(method)?.delete(l);
        resolve(p);
      };
      this.on(method, l);
    });
  }

  /** Evaluates an expression in the page and returns its value (JSON-serialisable). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value?: T }; exceptionDetails?: { text: string } }>(
      "Runtime.evaluate",
      {
        expression,
        returnByValue: true,
        awaitPromise: true,
      },
    );
    if (r.exceptionDetails) throw new Error(`page threw: ${r.exceptionDetails.text} in ${expression}`);
    return r.result.value as T;
  }

  /** Presses and releases a key the page receives as typed (e.g. "Tab", "Enter"). */
  async press(key: "Tab" | "Enter"): Promise<void> {
    const windowsVirtualKeyCode = { Tab: 9, Enter: 13 }[key];
    for (const type of ["keyDown", "keyUp"]) {
      await this.send("Input.dispatchKeyEvent", { type, key, code: key, windowsVirtualKeyCode });
    }
  }

  close(): void {
    this.ws.close();
  }
}

export interface Browser {
  page: DevTools;
  /** Console messages and log entries (CSP violations land here). */
  messages: string[];
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile and no background traffic; connects to its first page. */
export async function launchChromium(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  const path = await ensureChromium();
  const profile = await Deno.makeTempDir({ prefix: "zen-lead-chromium-" });
  const child = new Deno.Command(path, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--disable-default-apps",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      `--window-size=${opts.width ?? 1280},${opts.height ?? 800}`,
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" once it is up.
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let browserURL: string | undefined;
  const deadline = Date.now() + 30_000;
  while (!browserURL && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    browserURL = /DevTools listening on (ws:\/\/\S+)/.exec(seen)?.[1];
  }
  // Keep draining stderr so chromium never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* closed */ }
  })();
  if (!browserURL) {
    child.kill("SIGKILL");
    throw new Error(`chromium did not start its DevTools endpoint: ${seen.slice(-500)}`);
  }
  const port = new URL(browserURL).port;
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
    type: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.type === "page");
  if (!target) throw new Error("chromium has no page target");
  const page = await DevTools.connect(target.webSocketDebuggerUrl);
  const messages: string[] = [];
  page.on("Runtime.consoleAPICalled", (p) => {
    const args = (p.args as { value?: unknown; description?: string }[]) ?? [];
    messages.push(`console.${p.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`);
  });
  page.on("Log.entryAdded", (p) => {
    const e = p.entry as { level: string; text: string; source: string };
    messages.push(`${e.source} ${e.level}: ${e.text}`);
  });
  page.on("Runtime.exceptionThrown", (p) => {
    messages.push(`exception: ${JSON.stringify((p.exceptionDetails as { text?: string })?.text)}`);
  });
  await page.send("Page.enable");
  await page.send("Runtime.enable");
  await page.send("Log.enable");
  await page.send("Emulation.setDeviceMetricsOverride", {
    width: opts.width ?? 1280,
    height: opts.height ?? 800,
    deviceScaleFactor: 1,
    mobile: false,
  });
  return {
    page,
    messages,
    async close() {
      page.close();
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      // Chromium's helper processes may still be writing the profile for a moment after the main one exits.
      for (let i = 0; i < 10; i++) {
        try {
          await Deno.remove(profile, { recursive: true });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  };
}
