/** `deno task demo --dataplane --once`: the client's answers move from the leader to each new leader. */
import assert from "node:assert/strict";
import { runDemo } from "../e2e/_demo.ts";
import { announceSkip } from "./capability.ts";

const skip = announceSkip("the data-plane demo test");

Deno.test({
  name: "deno task demo --dataplane --once: the client's answers follow the leader through kube-proxy",
  ignore: skip !== undefined,
  async fn() {
    const text = await runDemo("--dataplane", "--once");
    const answers = [...text.matchAll(/\[client\]\s+\S+ ms {2}answered by (\S+)/g)].map((m) => m[1]);
    // Consecutive runs of the same pod: the leader, then the one after readiness loss, then after the kill.
    const runs = answers.filter((p, i) => i === 0 || p !== answers[i - 1]);
    assert.equal(runs.length, 3, `expected answers from three leaders in turn, found ${runs.join(" -> ")}`);
    // web-0 is Ready again by the kill, so the third leader may be the first one back.
    assert.ok(
      runs[1] !== runs[0] && runs[2] !== runs[1],
      `expected a new leader each time, found ${runs.join(" -> ")}`,
    );
    const last = /\[demo\] leader now: (\S+);/.exec(text)?.[1];
    assert.equal(runs[2], last, `expected the last answers from the leader the demo names, found ${runs[2]}`);
    assert.match(
      text,
      /failed: ECONNREFUSED/,
      "expected refused connections while the killed leader is detected",
    );
  },
});
