/**
 * The layout rules, from the import lines of every source file: `core/` (the kernel and the controller) imports
 * nothing from `app/` (the composition root) or the built-in plugins, and a built-in plugin (`strategies/`,
 * `health/`, `plugins/<name>/`) imports only the root `mod.ts` and its own folder, as a user's plugin would.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));

/** Whether a `/` after `before` starts a regular expression literal (not a division). */
function startsRegex(before: string): boolean {
  const t = before.trimEnd();
  return t === "" || /[(,=:[!&|?{};]$/.test(t) || /\breturn$/.test(t);
}

/** Code with comments blanked out (strings and template literals kept), so a commented import is not read. */
function withoutComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i], n = src[i + 1];
    if (c === "/" && n === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      out += " ";
    } else if (c === "/" && startsRegex(out)) {
      // A regular expression literal: skipped whole, so a quote inside it does not open a string.
      let j = i + 1, inClass = false;
      while (j < src.length && src[j] !== "\n" && (inClass || src[j] !== "/")) {
        if (src[j] === "\\") j++;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        j++;
      }
      out += " ";
      i = j + 1;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The specifiers a module imports: static `import`/`export ... from`, side-effect imports, literal `import()`. */
function importSpecifiers(src: string): string[] {
  const code = withoutComments(src);
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*[,)]/g,
  ];
  for (const p of patterns) for (const m of code.matchAll(p)) found.push(m[1]);
  return found;
}

/** The folder a built-in plugin file may import from, or undefined when `path` is not a built-in plugin. */
function pluginFolder(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] === "strategies" || parts[0] === "health") return parts[0];
  if (parts[0] !== "plugins") return undefined;
  // plugins/mod.ts lists the plugins below it; a file of plugins/<name>/ keeps to that folder.
  return parts.length > 2 ? `plugins/${parts[1]}` : "plugins";
}

const within = (path: string, folder: string) => path === folder || path.startsWith(folder + "/");

/** Every broken rule of one file (repository-relative path) with its imports. */
function layoutProblems(path: string, specifiers: readonly string[]): string[] {
  const problems: string[] = [];
  const folder = pluginFolder(path);
  for (const spec of specifiers) {
    if (!spec.startsWith(".")) continue; // npm:, node: and the deno.json import map are fine everywhere
    const target = normalize(join(dirname(path), spec));
    if (within(path, "core")) {
      const outside = ["app", "strategies", "health", "plugins"].find((f) => within(target, f));
      if (outside) problems.push(`${path} imports ${spec}: core/ must not import ${outside}/`);
    }
    if (folder !== undefined && target !== "mod.ts" && !within(target, folder)) {
      problems.push(`${path} imports ${spec}: a built-in plugin imports only mod.ts and ${folder}/`);
    }
  }
  return problems;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) files.push(...await sourceFiles(path));
    else if (/\.(ts|tsx|js|mjs)$/.test(e.name)) files.push(path);
  }
  return files;
}

Deno.test("the import scanner reads static, type, re-export, side-effect and dynamic imports, not comments", () => {
  const src = [
    `import { a } from "./a.ts";`,
    `import type {\n  B,\n} from '../b.ts';`,
    `export { c } from "./c.ts";`,
    `export * from "./d.ts";`,
    `import "./e.ts";`,
    `const f = await import("./f.ts");`,
    `// import { x } from "./commented.ts";`,
    `/* import("./blocked.ts") */`,
    `const url = "https://example.invalid/x"; import { g } from "./g.ts";`,
    `const quote = /["']/; const h = await import("./h.ts");`,
  ].join("\n");
  assert.deepEqual(importSpecifiers(src).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
  ]);
});

Deno.test("the layout rules flag core/ reaching out and plugins reaching into core/", () => {
  assert.equal(layoutProblems("core/controller/x.ts", ["../../health/http.ts"]).length, 1);
  assert.equal(layoutProblems("core/x.ts", ["../app/start.ts"]).length, 1);
  assert.equal(layoutProblems("core/x.ts", ["./probing/scheduler.ts", "npm:yaml@2"]).length, 0);
  assert.equal(layoutProblems("health/http.ts", ["../core/timers.ts"]).length, 1);
  assert.equal(layoutProblems("health/http.ts", ["../mod.ts", "./_port.ts", "valibot"]).length, 0);
  assert.equal(layoutProblems("plugins/a/engine/e.ts", ["../../b/x.ts"]).length, 1);
  assert.equal(layoutProblems("plugins/a/engine/e.ts", ["../../../mod.ts", "../arm/c.ts"]).length, 0);
  assert.equal(layoutProblems("plugins/mod.ts", ["./a/mod.ts"]).length, 0);
});

Deno.test("core/ imports no app/ or built-in plugin, and built-in plugins import only mod.ts and their folder", async () => {
  const problems: string[] = [];
  let scanned = 0;
  for (const dir of ["core", "strategies", "health", "plugins"]) {
    for (const path of await sourceFiles(dir)) {
      scanned++;
      const src = await Deno.readTextFile(join(ROOT, path));
      problems.push(...layoutProblems(relative(ROOT, join(ROOT, path)), importSpecifiers(src)));
    }
  }
  assert.ok(scanned > 100, `scanned only ${scanned} files: is ROOT (${ROOT}) the repository?`);
  assert.deepEqual(problems, [], `layout rules broken:\n${problems.join("\n")}`);
});
