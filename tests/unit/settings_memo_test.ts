/** The memo of parsed Service settings: one parse per version, bounded per namespace. */
import assert from "node:assert/strict";
import { SettingsMemo } from "../../core/controller/settings_memo.ts";
import type { SettingsResult } from "../../core/leader/service_settings.ts";

const result = (strategy: string) => ({ settings: { strategy }, errors: [] }) as unknown as SettingsResult;

Deno.test("settings memo: parses once per version, again on a new version, after eviction re-parses", () => {
  const memo = new SettingsMemo(2);
  let parses = 0;
  const get = (name: string, version: string) =>
    memo.get("ns", name, version, () => {
      parses++;
      return result(`${name}@${version}`);
    });
  assert.equal(get("a", "1").settings.strategy, "a@1");
  assert.equal(get("a", "1").settings.strategy, "a@1");
  assert.equal(parses, 1, "same version: memoised");
  assert.equal(get("a", "2").settings.strategy, "a@2");
  assert.equal(parses, 2, "new version: parsed again");
  get("b", "1");
  get("c", "1"); // evicts a (least recently used) within the namespace bound of 2
  assert.equal(memo.size, 2);
  assert.equal(get("a", "2").settings.strategy, "a@2", "an evicted entry is reloaded, not lost");
  assert.equal(parses, 5);
});

Deno.test("settings memo: the bound is per namespace", () => {
  const memo = new SettingsMemo(1);
  memo.get("x", "a", "1", () => result("xa"));
  memo.get("y", "a", "1", () => result("ya"));
  assert.equal(memo.size, 2);
  memo.forget("x", "a");
  assert.equal(memo.size, 1);
});
