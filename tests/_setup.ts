/**
 * Preloaded into every test run (`deno test --preload tests/_setup.ts`, see deno.json): an unhandled promise
 * rejection anywhere is a bug, so it fails the test it happened in (the exit sanitizer sees the exit code) and
 * the run as a whole, instead of being swallowed or killing the runner mid-suite.
 */
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  console.error("unhandled promise rejection (a bug; this run fails):", event.reason);
  Deno.exitCode = 1;
  // A rejection while a module is still loading (a failed top-level await) has no test to fail, and the runner's
  // own exit code would hide it: register a failing test in that module instead. Inside a running test,
  // registering throws, and the exit code above fails that test.
  try {
    Deno.test("the test module loaded without an unhandled rejection", () => {
      throw event.reason;
    });
  } catch {
    // A test is running: it fails through the exit code.
  }
});
