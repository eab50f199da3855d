/** Decodes a watch response body: one JSON object per line, split across chunks at arbitrary byte offsets. */

/** Yields each parsed line; a line that is not JSON is an error naming its first characters. */
export async function* decodeJsonLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of chunks) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield parseLine(line);
    }
  }
  const rest = (buffered + decoder.decode()).trim();
  if (rest) yield parseLine(rest);
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    throw new Error(`watch stream: expected one JSON object per line, received "${line.slice(0, 120)}"`, {
      cause: e,
    });
  }
}
