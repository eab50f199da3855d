// Bounded concurrency for bulk API calls (benchmarks create thousands of objects).

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; results keep index order. */
export async function runBounded<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  if (!(concurrency >= 1)) throw new Error(`expected concurrency >= 1, found ${concurrency}`);
  const results = new Array<T>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < count && !failure) {
      const i = next++;
      try {
        results[i] = await task(i);
      } catch (error) {
        failure ??= { error }; // stop handing out work; the first error is reported
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure) throw failure.error;
  return results;
}
