/** `oldest` (the default): the pod created first leads; ties go to the alphabetically first pod name. */
import { defineStrategy, type StrategyInput } from "../mod.ts";
import { rankByAge } from "./order.ts";

/** The `oldest` ranking; the composition root also hands it to the kernel as the last resort when this fails. */
export function rankOldest({ candidates }: StrategyInput): string[] {
  return rankByAge(candidates, "oldest");
}

export default defineStrategy({
  name: "oldest",
  version: "1.0.0",
  description: "Earliest pod creationTimestamp first, ties broken by pod name.",
  setup: () => ({
    rank: rankOldest,
  }),
});
