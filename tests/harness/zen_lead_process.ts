/**
 * zen-lead as a child process with exactly the permissions of `deno task start` (read from deno.json, the one
 * place they are written), for the demo and the permission tests. Its HOME is a directory of its own holding
 * the kubeconfig (`$HOME/.kube/config` is what the start task may read) and user plugins
 * (`$HOME/.config/zen-lead/plugins`).
 */
import { fileURLToPath } from "node:url";
import { readLines } from "../../health/grpc_prober_protocol.ts";
import { taskWords } from "../../deploy/image/entrypoint.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The `start` task's command as argv: `$HOME` expanded, `deno` replaced by this runtime. */
export async function startTaskArgv(home: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as { tasks: Record<string, string> };
  const words = taskWords(config.tasks.start, home);
  if (words[0] !== "deno") throw new Error(`expected the start task to begin with "deno", found ${words[0]}`);
  return words.slice(1);
}

export interface ZenLeadProcess {
  readonly pid: number;
  readonly home: string;
  /** Every stderr line so far (the controller logs JSON lines there). */
  readonly lines: string[];
  /** Resolves with the first line matching `re` (rejects after `timeoutMs`). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startZenLeadProcess(opts: {
  kubeconfig: string;
  /** Controller flags; `$HOME` in them becomes the child's HOME. */
  args?: readonly string[];
  env?: Record<string, string>;
  /** Files to put under HOME before the start (relative path → content). */
  files?: Record<string, string>;
}): Promise<ZenLeadProcess> {
  const home = await Deno.makeTempDir({ prefix: "zen-lead-home-" });
  await Deno.mkdir(`${home}/.kube`, { recursive: true });
  await Deno.writeTextFile(`${home}/.kube/config`, opts.kubeconfig);
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    await Deno.mkdir(`${home}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${home}/${path}`, content);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [...await startTaskArgv(home), ...(opts.args ?? []).map((a) => a.replaceAll("$HOME", home))],
    cwd: ROOT,
    clearEnv: true,
    env: {
      HOME: home,
      // the module cache stays ours: a new HOME would otherwise mean a new, empty one (and downloads).
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      NO_COLOR: "1",
      ...opts.env,
    },
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve(line: string): void }[] = [];
  readLines(child.stderr, (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }).catch(() => {});
  let stopped = false;
  return {
    pid: child.pid,
    home,
    lines,
    waitForLine(re, timeoutMs = 20_000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `no line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-20).join("\n")}`,
            ),
          );
        }, timeoutMs);
        waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

/** One log line of a controller as a record: its JSON, or `{ msg: line }` for a line that is not JSON. */
export function logRecord(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line);
  } catch {
    return { msg: line };
  }
}
