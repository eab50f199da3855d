/** One-off readings the bench takes beside its samples: a /metrics scrape, the load average, the code measured. */
/** Size and time of one `/metrics` scrape (the median of five). */
export interface ScrapeReading {
  bytes: number;
  ms: number;
}

export async function scrapeMetrics(port: number): Promise<ScrapeReading> {
  const readings: ScrapeReading[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).arrayBuffer();
    readings.push({ bytes: body.byteLength, ms: performance.now() - t });
  }
  readings.sort((a, b) => a.ms - b.ms);
  return readings[2];
}

/** The 1-minute load average of the machine (shared with other work), or NaN off Linux. */
export async function loadAverage(): Promise<number> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** Which code was measured: the controller is spawned from this tree, which may move while the bench runs. */
export async function codeVersion(): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["describe", "--always", "--dirty"],
      cwd: new URL("../", import.meta.url),
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "unknown";
  } catch {
    return "unknown";
  }
}
