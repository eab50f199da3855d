import assert from "node:assert/strict";
import { compileArgs, runFlagsOf, sourceEntrypoint, taskWords } from "../../deploy/image/entrypoint.ts";
import { cycloneDx, integrityHash, npmPackagesOfLock } from "../../deploy/image/sbom.ts";
import {
  isRuntimeIrrelevant,
  lockChanges,
  reachableNpmPackages,
  runtimeImports,
} from "../../deploy/image/graph.ts";

Deno.test("image entrypoint: the start task's flags plus --cached-only --frozen --quiet, main.ts from /app", () => {
  assert.deepEqual(sourceEntrypoint("deno run --allow-net --allow-env=POD_NAME,POD_NAMESPACE main.ts"), [
    "/usr/bin/deno",
    "run",
    "--allow-net",
    "--allow-env=POD_NAME,POD_NAMESPACE",
    "--cached-only",
    "--frozen",
    "--quiet",
    "/app/main.ts",
  ]);
  // A task that already says --frozen gets no second copy; program arguments stay after main.ts.
  assert.deepEqual(runFlagsOf("deno run --frozen -A main.ts --leader-elect=true"), {
    flags: ["--frozen", "-A", "--cached-only", "--quiet"],
    args: ["--leader-elect=true"],
  });
  assert.deepEqual(compileArgs("deno run --allow-net main.ts", "/out/zl"), [
    "compile",
    "--allow-net",
    "--frozen",
    "--quiet",
    "--no-check",
    "--output",
    "/out/zl",
    "main.ts",
  ]);
});

Deno.test("image entrypoint: quotes group words; shell syntax and other scripts are refused with the task named", () => {
  assert.deepEqual(taskWords(`deno run "--allow-read=a b" main.ts`), [
    "deno",
    "run",
    "--allow-read=a b",
    "main.ts",
  ]);
  assert.throws(() => runFlagsOf("deno run -A main.ts && rm -rf /"), /shell character "&"/);
  assert.throws(() => runFlagsOf("deno task x"), /start with "deno run"/);
  assert.throws(() => runFlagsOf("deno run -A other.ts"), /expected the script main.ts/);
  assert.throws(() => taskWords(`deno run "-A main.ts`), /unterminated/);
  // $HOME (the start task's per-user read paths) is the image's home; any other variable is still refused.
  assert.deepEqual(taskWords("deno run --allow-read=$HOME/.kube,${HOME}/p main.ts", "/h"), [
    "deno",
    "run",
    "--allow-read=/h/.kube,/h/p",
    "main.ts",
  ]);
  assert.throws(() => taskWords("deno run --allow-read=$HOMEX main.ts"), /shell character "\$"/);
  assert.throws(() => taskWords("deno run --allow-read=$PATH main.ts"), /shell character "\$"/);
  // The project's own start task is accepted as it stands.
  const startTask =
    JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url))).tasks.start;
  assert.ok(
    sourceEntrypoint(startTask).includes(
      "--allow-read=/home/zen-lead/.kube,/var/run/secrets,/plugins,/home/zen-lead/.config/zen-lead/plugins",
    ),
  );
});

const info = {
  modules: [{ kind: "esm" }, { kind: "npm", npmPackage: "a@1.0.0" }, {
    kind: "npm",
    npmPackage: "p@2.0.0_a@1.0.0",
  }],
  npmPackages: {
    "a@1.0.0": { name: "a", version: "1.0.0", dependencies: ["b@1.0.0"] },
    "b@1.0.0": { name: "b", version: "1.0.0" },
    "p@2.0.0_a@1.0.0": { name: "p", version: "2.0.0", dependencies: ["a@1.0.0"] },
    "dev@3.0.0": { name: "dev", version: "3.0.0", dependencies: ["b@1.0.0"] },
  },
};

Deno.test("image cache: only the npm packages main.ts's graph reaches, and their import-map entries", () => {
  assert.deepEqual([...reachableNpmPackages(info)].sort(), ["a@1.0.0", "b@1.0.0", "p@2.0.0_a@1.0.0"]);
  assert.deepEqual(
    runtimeImports({ a: "npm:a@1.0.0", p: "npm:p@2.0.0", dev: "npm:dev@3.0.0", local: "./x.ts" }, info),
    { a: "npm:a@1.0.0", p: "npm:p@2.0.0", local: "./x.ts" },
  );
  assert.throws(
    () => reachableNpmPackages({ modules: [{ kind: "npm", npmPackage: "gone@1" }], npmPackages: {} }),
    /gone@1/,
  );
  assert.equal(isRuntimeIrrelevant("x/index.d.ts"), true);
  assert.equal(isRuntimeIrrelevant("x/index.d.mts"), true);
  assert.equal(isRuntimeIrrelevant("x/index.js.map"), true);
  assert.equal(isRuntimeIrrelevant("x/index.js"), false);
});

Deno.test("image cache: the pruned lockfile may drop entries but never add or change one", () => {
  const original = {
    npm: { "a@1": { integrity: "sha512-A" }, "b@1": { integrity: "sha512-B" } },
    specifiers: { "npm:a@1": "1" },
  };
  assert.deepEqual(lockChanges(original, { npm: { "a@1": { integrity: "sha512-A" } }, specifiers: {} }), []);
  assert.deepEqual(
    lockChanges(original, {
      npm: { "a@1": { integrity: "sha512-X" }, "c@1": {} },
      specifiers: { "npm:a@1": "2" },
    }),
    ["npm a@1", "npm c@1", "specifier npm:a@1"],
  );
});

Deno.test("SBOM: lockfile packages (peer variants folded), Debian packages and the runtime as CycloneDX", () => {
  const npm = npmPackagesOfLock({
    npm: {
      "@s/x@1.0.0_@s+y@2.0.0": { integrity: "sha512-AAEC" },
      "@s/x@1.0.0": { integrity: "sha512-AAEC" },
      "z@3.0.0": {},
    },
  });
  assert.deepEqual(npm.map((p) => `${p.name}@${p.version}`), ["@s/x@1.0.0", "z@3.0.0"]);
  assert.deepEqual(integrityHash("sha512-AAEC"), [{ alg: "SHA-512", content: "000102" }]);
  assert.deepEqual(integrityHash("md5-xx"), []);
  const bom = cycloneDx({
    version: "0.1.0",
    deno: "2.9.6",
    denoPackage: "@deno/linux-x64-glibc",
    debs: [{ name: "libc6", version: "2.36-9+deb12u14", arch: "amd64" }],
    npm,
    compiled: false,
  }) as { components: { purl: string }[] };
  assert.deepEqual(bom.components.map((c) => c.purl), [
    "pkg:npm/%40deno/linux-x64-glibc@2.9.6",
    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12",
    "pkg:npm/%40s/x@1.0.0",
    "pkg:npm/z@3.0.0",
  ]);
});
