/** The first line a child process prints, for helpers that wait for a child's one-line "ready" report. */

/**
 * Reads from `reader` up to the first newline: the line without it, or undefined when the stream ends first.
 * What follows the newline in the same chunk is dropped (the callers' children print one line, then wait).
 */
export async function readLine(reader: ReadableStreamDefaultReader<string>): Promise<string | undefined> {
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) return undefined;
    text += value;
  }
  return text.slice(0, text.indexOf("\n"));
}
