/** `oldest` (the default): the pod created first leads; ties go to the alphabetically first pod name. */
import { defineStrategy } from "../mod.ts";
import { rankByAge } from "./order.ts";

export default defineStrategy({
  name: "oldest",
  version: "1.0.0",
  description: "Earliest pod creationTimestamp first, ties broken by pod name.",
  setup: () => ({
    rank: ({ candidates }) => rankByAge(candidates, "oldest"),
  }),
});
