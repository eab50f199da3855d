/**
 * The image's entrypoint, derived from deno.json's `start` task so the container runs with exactly the Deno
 * permissions that `deno task start` grants (one source of truth; no second copy of the flags here).
 */

/** Flags every image run adds: no network fetch of code, the lockfile never rewritten, no Deno diagnostics in the JSON log. */
export const IMAGE_RUN_FLAGS = ["--cached-only", "--frozen", "--quiet"] as const;

/**
 * Splits a task command into words; quotes group, and anything a shell would interpret is refused, except
 * `$HOME`/`${HOME}`, which become `home` (the image's home directory: the task's per-user plugin paths).
 */
export function taskWords(task: string, home = IMAGE_PATHS.home): string[] {
  task = task.replaceAll(/\$\{HOME\}|\$HOME(?![A-Za-z0-9_])/g, home);
  const words: string[] = [];
  let word = "";
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (const ch of task) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if ("&|;<>$`()\\".includes(ch)) {
      throw new Error(
        `deno.json tasks.start: expected one plain "deno run [flags] main.ts" command, found the shell character ${
          JSON.stringify(ch)
        } in ${JSON.stringify(task)}`,
      );
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`deno.json tasks.start: unterminated ${quote} quote in ${JSON.stringify(task)}`);
  if (inWord) words.push(word);
  return words;
}

/**
 * The `deno run` flags of a `start` task (`deno run [flags] main.ts [args]`), plus `--cached-only --frozen`
 * where absent. Program arguments after main.ts are returned separately.
 */
export function runFlagsOf(task: string): { flags: string[]; args: string[] } {
  const words = taskWords(task);
  if (words[0] !== "deno" || words[1] !== "run") {
    throw new Error(
      `deno.json tasks.start: expected it to start with "deno run", found ${JSON.stringify(task)}`,
    );
  }
  const mainAt = words.findIndex((w, i) => i >= 2 && !w.startsWith("-"));
  if (mainAt < 0 || words[mainAt] !== "main.ts") {
    throw new Error(
      `deno.json tasks.start: expected the script main.ts after the flags, found ${JSON.stringify(task)}`,
    );
  }
  const flags = words.slice(2, mainAt);
  for (const f of IMAGE_RUN_FLAGS) if (!flags.includes(f)) flags.push(f);
  return { flags, args: words.slice(mainAt + 1) };
}

/** Where the runtime, the source and the dependency cache sit inside the image. */
export const IMAGE_PATHS = {
  deno: "/usr/bin/deno",
  app: "/app",
  denoDir: "/deno-dir",
  binary: "/usr/bin/zen-lead",
  /** HOME inside the container; the start task's `$HOME/...` read paths resolve under it. */
  home: "/home/zen-lead",
};

/** The OCI entrypoint: `deno run <start flags> --cached-only --frozen /app/main.ts [task args]`. */
export function sourceEntrypoint(startTask: string): string[] {
  const { flags, args } = runFlagsOf(startTask);
  return [IMAGE_PATHS.deno, "run", ...flags, `${IMAGE_PATHS.app}/main.ts`, ...args];
}

/**
 * `deno compile` arguments for the DENORT_BIN build: the same permissions baked into the binary. No type check:
 * the staged cache has no .d.ts files, and `deno task check` type-checks the source in CI.
 */
export function compileArgs(startTask: string, output: string): string[] {
  const { flags } = runFlagsOf(startTask);
  return [
    "compile",
    ...flags.filter((f) => f !== "--cached-only"),
    "--no-check",
    "--output",
    output,
    "main.ts",
  ];
}
