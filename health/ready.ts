/**
 * `ready`: the pod's Ready condition, the default check. The controller only offers eligible pods (Ready=True)
 * to health checks, so every pod it is given is healthy; it needs no network and no scheduling.
 */
import { defineHealthChecker, type HealthChecker } from "../mod.ts";

export const readyChecker: HealthChecker<Record<string, never>> = {
  passive: true,
  check: () => Promise.resolve({ healthy: true, reason: "Ready" }),
};

export const readyHealthChecker = defineHealthChecker({
  name: "ready",
  version: "1.0.0",
  description: "The pod's Ready condition (the default): healthy for every eligible pod, no network.",
  setup: () => readyChecker,
});
