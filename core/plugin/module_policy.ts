/**
 * Which plugin modules named by the ConfigMap may load. Whoever edits the ConfigMap must not be able to run code
 * the Deployment's owner did not allow: loading is off until `--plugin-module-allow` names path or URL
 * prefixes, URLs also need a pinned `integrity` hash, and `data:`/`blob:` (code inside the ConfigMap itself)
 * never load. Pure: the decision is made on the text, before anything is read, fetched or imported.
 */

/** The flag that allows modules; refusals name it so the operator knows what would allow one. */
export const ALLOW_FLAG = "--plugin-module-allow";

/** `sha256-<base64>` (Subresource Integrity syntax); sha384 and sha512 are accepted too. */
export const INTEGRITY = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})$/;

/** An allow-list entry: a directory (path prefix) or a URL prefix (same origin, path prefix). */
export type AllowPrefix =
  | { readonly kind: "path"; readonly dir: string; readonly text: string }
  | { readonly kind: "url"; readonly url: URL; readonly text: string };

/** What the policy decided for one module entry. */
export type ModuleDecision =
  | { readonly ok: true; readonly kind: "file"; readonly path: string; readonly integrity?: string }
  | { readonly ok: true; readonly kind: "url"; readonly url: URL; readonly integrity: string }
  | { readonly ok: false; readonly problem: string };

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/** Collapses `.`, `..` and repeated slashes of an absolute POSIX path; `..` never climbs above `/`. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

function absolute(path: string, baseDir: string): string {
  return normalizePath(path.startsWith("/") ? path : `${baseDir}/${path}`);
}

/** Parses the flag's comma-separated prefixes; a malformed one is an error naming it. */
export function parseAllowList(text: string, baseDir: string): AllowPrefix[] {
  const out: AllowPrefix[] = [];
  for (const raw of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const scheme = SCHEME.exec(raw)?.[1]?.toLowerCase();
    if (scheme === undefined || scheme === "file") {
      const path = scheme === "file" ? decodeURIComponent(new URL(raw).pathname) : raw;
      out.push({ kind: "path", dir: absolute(path, baseDir), text: raw });
      continue;
    }
    if (scheme !== "https" && scheme !== "http") {
      throw new Error(
        `${ALLOW_FLAG}: expected directory paths or http(s) URL prefixes, received ${JSON.stringify(raw)}`,
      );
    }
    const url = new URL(raw);
    if (url.search || url.hash || url.username || url.password) {
      throw new Error(
        `${ALLOW_FLAG}: expected a URL prefix without query, fragment or credentials, received ${
          JSON.stringify(raw)
        }`,
      );
    }
    out.push({ kind: "url", url, text: raw });
  }
  return out;
}

/** `child` is `dir` or inside it (a prefix is a directory: `/plugins` does not allow `/plugins-evil/`). */
export function isUnder(child: string, dir: string): boolean {
  if (dir === "/") return true;
  const d = dir.endsWith("/") ? dir.slice(0, -1) : dir;
  return child === d || child.startsWith(d + "/");
}

function urlAllowed(url: URL, prefix: URL): boolean {
  if (url.origin !== prefix.origin) return false;
  const p = prefix.pathname;
  // "https://h/zl/" allows what is under zl/; "https://h/zl/a.js" allows exactly that module.
  return p.endsWith("/") ? url.pathname.startsWith(p) : url.pathname === p;
}

function shown(value: string, max = 200): string {
  return JSON.stringify(value.length > max ? value.slice(0, max) + "…" : value);
}

/**
 * Decides whether one `module:` may load. `where` names the entry (e.g. `plugins[2] (mine)`), and every refusal
 * names it, the specifier and the flag that would allow it.
 */
export function decideModule(
  where: string,
  specifier: string,
  integrity: string | undefined,
  allow: readonly AllowPrefix[],
  baseDir: string,
): ModuleDecision {
  const refuse = (why: string): ModuleDecision => ({
    ok: false,
    problem: `${where}: module ${shown(specifier)} refused: ${why}`,
  });
  const scheme = SCHEME.exec(specifier)?.[1]?.toLowerCase();
  if (scheme === "data" || scheme === "blob") {
    return refuse(
      `${scheme}: modules never load (the code would come from the ConfigMap itself); expected a file ` +
        `under a directory or a URL under a prefix that ${ALLOW_FLAG} names`,
    );
  }
  if (scheme !== undefined && scheme !== "file" && scheme !== "http" && scheme !== "https") {
    return refuse(`expected a file path or an http(s) URL, received the scheme "${scheme}:"`);
  }
  if (integrity !== undefined && !INTEGRITY.test(integrity)) {
    return refuse(`integrity: expected "sha256-<base64 digest>", received ${shown(integrity)}`);
  }
  if (allow.length === 0) {
    return refuse(
      `loading plugin modules from the ConfigMap is off; the Deployment enables it with ` +
        `${ALLOW_FLAG}=<directories or URL prefixes>`,
    );
  }
  if (scheme === "http" || scheme === "https") {
    let url: URL;
    try {
      url = new URL(specifier);
    } catch {
      return refuse("expected a valid URL");
    }
    if (!allow.some((p) => p.kind === "url" && urlAllowed(url, p.url))) {
      return refuse(`the URL is under none of the prefixes ${ALLOW_FLAG} allows [${list(allow)}]`);
    }
    if (integrity === undefined) {
      return refuse(
        `a module loaded by URL needs a pinned hash, expected integrity: "sha256-<base64 digest of the file>"`,
      );
    }
    return { ok: true, kind: "url", url, integrity };
  }
  const path = absolute(
    scheme === "file" ? decodeURIComponent(new URL(specifier).pathname) : specifier,
    baseDir,
  );
  if (!allow.some((p) => p.kind === "path" && isUnder(path, p.dir))) {
    return refuse(`the file ${path} is under none of the directories ${ALLOW_FLAG} allows [${list(allow)}]`);
  }
  return { ok: true, kind: "file", path, ...(integrity ? { integrity } : {}) };
}

function list(allow: readonly AllowPrefix[]): string {
  return allow.map((p) => p.text).join(", ");
}
