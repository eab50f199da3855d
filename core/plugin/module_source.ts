/**
 * The bytes of an allowed plugin module, checked before anything is evaluated. A URL module is fetched by us
 * (never by the runtime's module loader, which would fetch, cache and lock whatever the URL serves later), its
 * digest compared with the pinned `integrity`, and exactly those bytes evaluated from memory. Because its own
 * imports would fetch code no hash pins, a URL module must be self-contained (bundled).
 */
import { timeoutSignal } from "../timers.ts";
import { INTEGRITY } from "./module_policy.ts";

/** The largest module we fetch; a plugin bundle is far smaller. */
export const MAX_MODULE_BYTES = 4 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;

const ALGORITHMS: Record<string, string> = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** The SRI string (`sha256-<base64>`) of `bytes`. */
export async function integrityOf(bytes: Uint8Array, algorithm = "sha256"): Promise<string> {
  const digest = await crypto.subtle.digest(ALGORITHMS[algorithm], bytes as Uint8Array<ArrayBuffer>);
  return `${algorithm}-${base64(new Uint8Array(digest))}`;
}

/** Undefined when `bytes` match `integrity`, else why not (naming both digests). */
export async function integrityProblem(bytes: Uint8Array, integrity: string): Promise<string | undefined> {
  const m = INTEGRITY.exec(integrity);
  if (!m) return `integrity: expected "sha256-<base64 digest>", received ${JSON.stringify(integrity)}`;
  const actual = await integrityOf(bytes, m[1]);
  return actual === integrity
    ? undefined
    : `integrity mismatch: expected ${integrity}, the fetched bytes are ${actual}; nothing was evaluated`;
}

/** Where the first `import` of a module's text is, or undefined when there is none. */
export function importProblem(text: string): string | undefined {
  // Any `import` word counts (static, dynamic, import.meta, even in a string): over-refusing a bundle is safe.
  const m = /(?<![\w$.])import(?![\w$])/.exec(text);
  if (!m) return undefined;
  const before = text.slice(0, m.index);
  const line = before.split("\n").length;
  const column = m.index - before.lastIndexOf("\n");
  return `a module loaded by URL must be self-contained (bundled): its own imports would fetch code no ` +
    `integrity pins; found "import" at line ${line}, column ${column}`;
}

/** Fetches `url` (no redirects, bounded size and time) and returns its bytes. */
export async function fetchModule(url: URL, fetchFn: typeof fetch = fetch): Promise<Uint8Array> {
  const res = await fetchFn(url, { redirect: "manual", signal: timeoutSignal(FETCH_TIMEOUT_MS) });
  if (res.status !== 200) {
    await res.body?.cancel();
    const where = res.headers.get("location");
    throw new Error(
      `fetching ${url.href}: expected HTTP 200, received ${res.status}${
        where ? ` (redirect to ${where})` : ""
      }`,
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
    size += chunk.length;
    if (size > MAX_MODULE_BYTES) {
      throw new Error(`fetching ${url.href}: expected at most ${MAX_MODULE_BYTES} bytes, received more`);
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The media type the runtime evaluates the bytes as, from the URL's file extension. */
function mediaType(url: URL): string {
  return /\.(m|c)?tsx?$/.test(url.pathname) ? "application/typescript" : "application/javascript";
}

/** Evaluates verified bytes from memory: the runtime never goes back to the URL for them. */
export function evaluateBytes(bytes: Uint8Array, url: URL): Promise<Record<string, unknown>> {
  return import(`data:${mediaType(url)};base64,${base64(bytes)}`);
}
