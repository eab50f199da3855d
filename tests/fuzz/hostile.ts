/**
 * Hostile inputs for the three parsers users feed: Service/pod annotations, the ConfigMap's
 * config.yaml and the flags. The generators lean on what broke parsers before: YAML aliases and tags, huge
 * strings, deep nesting, `__proto__`/`constructor` keys, NaN/Infinity/huge numbers.
 */
import fc from "fast-check";
import { stringify } from "yaml";
import { ANN } from "../../core/leader/annotations.ts";

const HUGE = "x".repeat(20_000);
const DEEP_JSON = "[".repeat(5_000) + "]".repeat(5_000);
const DEEP_OBJECT = '{"a":'.repeat(3_000) + "1" + "}".repeat(3_000);

/** Scalars that are numbers in disguise, or not quite. */
const numberish = fc.constantFrom(
  "NaN",
  "Infinity",
  "-Infinity",
  "1e309",
  "-0",
  "0x10",
  "1e9",
  "99999999999999999999",
  "9007199254740993",
  "1.5",
  " 3 ",
  "",
);

const durationish = fc.oneof(
  fc.constantFrom(
    "1000h",
    "24h",
    "24h0m0.001s",
    "596h",
    "1e3s",
    "-1s",
    "1.5.5s",
    "0",
    "+5m",
    "µs",
    "99999999999999999999h",
  ),
  fc.tuple(fc.nat({ max: 100_000 }), fc.constantFrom("ns", "us", "µs", "ms", "s", "m", "h")).map(([n, u]) =>
    `${n}${u}`
  ),
);

const jsonish = fc.oneof(
  fc.constantFrom(
    DEEP_JSON,
    DEEP_OBJECT,
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"type":"http","port":1e309}',
    '{"type":"http","port":8080,"intervalSeconds":1e-9}',
    '{"type":"http","port":8080,"timeoutSeconds":3000000}',
    '{"type":"grpc","port":9090,"failureThreshold":NaN}',
    '{"type":"http","port":"web","headers":{"__proto__":"x"}}',
    "{",
    "[]",
    "null",
  ),
  fc.json({ maxDepth: 4 }),
);

/** An annotation value: plain text, numbers, durations, JSON, short forms, huge and deep things. */
export const annotationValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  numberish,
  durationish,
  jsonish,
  fc.constantFrom(
    HUGE,
    "http:8080/healthz",
    "grpc:9090/x",
    "ready",
    "tcp:80",
    "http:",
    "true",
    "false",
    "open",
  ),
);

const annotationKeys = fc.constantFrom(
  ...Object.values(ANN).filter((k) => k.startsWith("zen-lead.io/")),
  "__proto__",
  "constructor",
  "toString",
);

/** A Service's annotations (opted in), keys from zen-lead's own plus prototype traps. */
export const serviceAnnotations: fc.Arbitrary<Record<string, string>> = fc
  .array(fc.tuple(annotationKeys, annotationValue), { maxLength: 8 })
  .map((pairs) => {
    const out: Record<string, string> = Object.create(null);
    for (const [k, v] of pairs) out[k] = v;
    out[ANN.enabled] = "true";
    return { ...out };
  });

const schemaKey = fc.constantFrom(
  "controller",
  "defaults",
  "plugins",
  "qps",
  "burst",
  "maxConcurrentReconciles",
  "apiTimeoutSeconds",
  "cacheUpdateTimeoutSeconds",
  "logLevel",
  "strategy",
  "healthCheck",
  "strategyOptions",
  "backend",
  "name",
  "module",
  "integrity",
  "options",
  "enabled",
  "__proto__",
  "constructor",
  "prototype",
);

const yamlLeaf = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, 1e308, Number.MAX_SAFE_INTEGER + 2, -0, 0, 1),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    HUGE,
    "data:text/javascript,1",
    "http://127.0.0.1:1/x.js",
    "/etc/passwd",
    "oldest",
    "ready",
  ),
);

const yamlTree = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    yamlLeaf,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(schemaKey, tie("node"), { maxKeys: 4 }),
  ),
})).node;

/** Raw YAML fragments that a serializer would never produce. */
const rawYaml = fc.constantFrom(
  "controller: *nope\n",
  "a: &a [x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n",
  "controller: !!set {qps, burst}\n",
  "controller:\n  qps: !!binary aGk=\n",
  "defaults: !!omap [a: 1]\n",
  "x: !foo 1\n",
  "controller:\n  qps: .inf\n  burst: .nan\n",
  "controller: {qps: 1e999}\n",
  "plugins:\n  - &e {name: oldest}\n  - *e\n",
  "__proto__: {polluted: true}\n",
  "plugins:\n  - name: x\n    options: " + "[".repeat(3000) + "]".repeat(3000) + "\n",
  "controller:\n  qps: 1\n  qps: 2\n",
  "\t- broken",
  "---\n---\n",
  "? [a, b]\n: c\n",
  "key: " + HUGE + "\n",
);

/** config.yaml texts: serialized random trees over the schema's keys, raw hostile fragments, random text. */
export const configText: fc.Arbitrary<string> = fc.oneof(
  yamlTree.map((t) => {
    try {
      return stringify(t);
    } catch {
      return String(t);
    }
  }),
  rawYaml,
  fc.tuple(rawYaml, yamlTree.map((t) => stringify({ defaults: t }))).map(([a, b]) => a + b),
  fc.string({ maxLength: 200 }),
);

const FLAG_NAMES = [
  "metrics-bind-address",
  "health-probe-bind-address",
  "leader-elect",
  "leader-election-id",
  "max-cache-size-per-namespace",
  "max-concurrent-reconciles",
  "qps",
  "burst",
  "cache-update-timeout-seconds",
  "api-timeout-seconds",
  "log-level",
  "config-map",
  "watch-namespace",
  "plugin-module-allow",
  "kubeconfig",
  "__proto__",
  "constructor",
  "help",
];

const flagValue = fc.oneof(
  annotationValue,
  fc.constantFrom("data:,1", "ftp://x/", "https://h/zl/?q=1", "/plugins/"),
);

/** argv: known flags in every spelling with hostile values, and stray tokens. */
export const argv: fc.Arbitrary<string[]> = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom("--", "-"), fc.constantFrom(...FLAG_NAMES), flagValue).map(([d, f, v]) =>
      `${d}${f}=${v}`
    ),
    fc.constantFrom(...FLAG_NAMES).map((f) => `--${f}`),
    fc.string({ maxLength: 20 }),
  ),
  { maxLength: 6 },
);

/** The env vars the flag parser reads. */
export const flagEnv: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    WATCH_NAMESPACE: flagValue,
    ZEN_LEAD_CONFIG_MAP: flagValue,
    KUBECONFIG: flagValue,
    POD_NAMESPACE: flagValue,
  },
  { requiredKeys: [] },
);
