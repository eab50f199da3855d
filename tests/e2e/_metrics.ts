/** Reads zen-lead's `/metrics` surface as a test would scrape it, one sample at a time. */

/** Scrapes the metrics server of a running controller. */
export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics on port ${port}: HTTP ${res.status}`);
  return await res.text();
}

/**
 * The value of the sample `name{labels}` in Prometheus text; labels not given may have any value and matching
 * samples are summed. 0 when none matches (a counter not incremented yet is not rendered).
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    const close = rest.indexOf("}");
    const labelText = rest[0] === "{" ? rest.slice(1, close) : "";
    const value = Number(rest.slice(rest[0] === "{" ? close + 1 : 0).trim().split(" ")[0]);
    const got = new Map(
      [...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) sum += value;
  }
  return sum;
}

/** Scrapes and reads one sample. */
export async function metric(port: number, name: string, labels: Record<string, string> = {}) {
  return sample(await scrape(port), name, labels);
}

/**
 * The metric families of a scrape as sorted lines `name type [label,...] help`: what a dashboard or alert
 * depends on (names, types, label names, HELP), without the values.
 */
export function families(text: string): string[] {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    let m;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) help.set(m[1], m[2]);
    else if ((m = /^# TYPE (\S+) (\S+)$/.exec(line))) type.set(m[1], m[2]);
    else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? /.exec(line))) {
      const base = [...type.keys()].find((n) =>
        m![1] === n || /^_(bucket|sum|count)$/.test(m![1].slice(n.length)) && m![1].startsWith(n)
      ) ?? m![1];
      const set = labels.get(base) ?? new Set<string>();
      for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
        if (l[1] !== "le") {
          set.add(l[1]);
        }
      }
      labels.set(base, set);
    }
  }
  return [...type.keys()].sort().map((n) =>
    `${n} ${type.get(n)} [${[...(labels.get(n) ?? [])].sort().join(",")}] ${help.get(n) ?? ""}`
  );
}
