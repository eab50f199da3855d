import assert from "node:assert/strict";
import { defaultLeaderName, isDns1035Label, leaderNameFor } from "../../core/leader/names.ts";
import { parseGoDuration } from "../../core/leader/duration.ts";

Deno.test("leader name: <svc>-leader by default", () => {
  assert.deepEqual(leaderNameFor("web", {}), { name: "web-leader", custom: false });
});

Deno.test("leader name: a valid custom name is used", () => {
  assert.deepEqual(leaderNameFor("web", { "zen-lead.io/leader-service-name": "primary" }), {
    name: "primary",
    custom: true,
  });
});

Deno.test("leader name: invalid or self-referencing custom names are errors naming the annotation", () => {
  const bad = leaderNameFor("web", { "zen-lead.io/leader-service-name": "Bad_Name" });
  assert.equal(bad.name, undefined);
  assert.match(
    bad.error!,
    /^annotation zen-lead\.io\/leader-service-name: expected a DNS-1035 label .*; received "Bad_Name"$/,
  );
  const self = leaderNameFor("web", { "zen-lead.io/leader-service-name": "web" });
  assert.match(self.error!, /expected a name other than the source Service's own .*; received "web"$/);
});

Deno.test("leader name: shortened deterministically to 63 characters when <svc>-leader is too long", () => {
  const source = "a".repeat(60);
  const n = defaultLeaderName(source);
  assert.equal(n.length, 63);
  assert.ok(isDns1035Label(n), n);
  assert.ok(n.endsWith("-leader"));
  assert.equal(defaultLeaderName(source), n, "same input, same name");
  assert.notEqual(defaultLeaderName("a".repeat(59) + "b"), n, "different sources, different names");
  assert.equal(defaultLeaderName("a".repeat(56)), "a".repeat(56) + "-leader", "56 + 7 = 63 fits unchanged");
});

Deno.test("Go durations parse to milliseconds; negatives and junk are rejected", () => {
  assert.equal(parseGoDuration("30s"), 30_000);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("1.5h"), 5_400_000);
  assert.equal(parseGoDuration("250ms"), 250);
  assert.equal(parseGoDuration("0"), 0);
  for (const bad of ["", "30", "-1s", "1x", "s", "1s2"]) assert.equal(parseGoDuration(bad), undefined, bad);
});
