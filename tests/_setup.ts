/**
 * Preloaded into every test run (`deno test --preload tests/_setup.ts`, see deno.json): an unhandled promise
 * rejection anywhere is a bug, so it fails the test it happened in (the exit sanitizer sees the exit code) and
 * the run as a whole, instead of being swallowed or killing the runner mid-suite.
 */
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  console.error("unhandled promise rejection (a bug; this run fails):", event.reason);
  Deno.exitCode = 1;
});
