/** `newest`: the pod created last leads (e.g. to follow a rollout); ties go to the alphabetically first name. */
import { defineStrategy } from "../mod.ts";
import { rankByAge } from "./order.ts";

export default defineStrategy({
  name: "newest",
  version: "1.0.0",
  description: "Latest pod creationTimestamp first, ties broken by pod name.",
  setup: () => ({
    rank: ({ candidates }) => rankByAge(candidates, "newest"),
  }),
});
