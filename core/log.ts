/** Structured JSON logging: one line per record on stderr, fields flattened beside `level` and `msg`. */
import { logCorrelation } from "./tracing/spans.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
/** Structured fields of a log record, written beside `level` and `msg`; errors are written as their message. */
export type LogFields = Record<string, unknown>;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger: one JSON line per record. */
export interface Logger {
  /** Detail for debugging, off unless the log level is `debug`. */
  debug(msg: string, fields?: LogFields): void;
  /** Something worth knowing happened. */
  info(msg: string, fields?: LogFields): void;
  /** Something is wrong but the work goes on. */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed. */
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every record (e.g. `{ plugin: "http" }`). */
  child(fields: LogFields): Logger;
}

/** Where log records go; tests swap it to capture lines. */
export type LogSink = (line: string) => void;

interface RootState {
  level: LogLevel;
  sink: LogSink;
}

const encoder = new TextEncoder();
const stderrSink: LogSink = (line) => Deno.stderr.writeSync(encoder.encode(line + "\n"));

/** The longest string a log field (or the message) keeps: a 20 KB annotation must not make an 80 KB line. */
export const MAX_LOG_FIELD = 1024;

function bounded(text: string): string {
  return text.length > MAX_LOG_FIELD
    ? `${text.slice(0, MAX_LOG_FIELD)}…(${text.length - MAX_LOG_FIELD} more characters)`
    : text;
}

/** Errors serialise to their message (and cause) instead of `{}`; strings are cut to MAX_LOG_FIELD. */
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    return bounded(
      value.cause === undefined ? value.message : `${value.message} (cause: ${plain(value.cause)})`,
    );
  }
  if (typeof value === "string") return bounded(value);
  if (Array.isArray(value) && value.length > 50) {
    return [...value.slice(0, 50), `…(${value.length - 50} more)`];
  }
  return value;
}

class JsonLogger implements Logger {
  constructor(private readonly root: RootState, private readonly fields: LogFields) {}

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (order[level] < order[this.root.level]) return;
    const record: LogFields = { time: new Date().toISOString(), level, msg: bounded(msg) };
    for (const [k, v] of Object.entries(this.fields)) record[k] = plain(v);
    if (fields) { for (const [k, v] of Object.entries(fields)) if (v !== undefined) record[k] = plain(v); }
    // Inside a traced reconcile or backend operation: the line names its span.
    const span = logCorrelation();
    if (span) Object.assign(record, span);
    this.root.sink(JSON.stringify(record));
  }

  debug(msg: string, fields?: LogFields) {
    this.write("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields) {
    this.write("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields) {
    this.write("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields) {
    this.write("error", msg, fields);
  }
  child(fields: LogFields): Logger {
    return new JsonLogger(this.root, { ...this.fields, ...fields });
  }
}

/** The root logger of a process; `setLevel` changes every child at once (config reloads use it). */
export class RootLogger extends JsonLogger {
  private readonly state: RootState;
  constructor(level: LogLevel = "info", sink: LogSink = stderrSink) {
    const state = { level, sink };
    super(state, {});
    this.state = state;
  }
  setLevel(level: LogLevel): void {
    this.state.level = level;
  }
  get level(): LogLevel {
    return this.state.level;
  }
}

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
