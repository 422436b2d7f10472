import { describe, expect, it } from "vitest";
import {
  INITIAL_PROBE_STATE,
  type ProbeState,
  type ProbeStatus,
  recordProbe,
  type Thresholds,
} from "./probe-state.ts";

const run = (results: readonly boolean[], thresholds: Thresholds, from: ProbeState = INITIAL_PROBE_STATE) =>
  results.reduce<{ state: ProbeState; transitions: string[] }>(
    (acc, ok) => {
      const step = recordProbe(acc.state, ok, thresholds);
      return {
        state: step.state,
        transitions: step.transition
          ? [...acc.transitions, `${step.transition.from}>${step.transition.to}`]
          : acc.transitions,
      };
    },
    { state: from, transitions: [] },
  );

/**
 * The status after a history, defined independently: the result of the last probe that completed
 * a run of identical results as long as its threshold; unknown if none did.
 */
const expectedStatus = (results: readonly boolean[], t: Thresholds): ProbeStatus => {
  for (let end = results.length - 1; end >= 0; end--) {
    const ok = results[end];
    let length = 0;
    while (end - length >= 0 && results[end - length] === ok) length++;
    if (length >= (ok ? t.healthyThreshold : t.unhealthyThreshold)) return ok ? "healthy" : "unhealthy";
  }
  return "unknown";
};

const histories = (length: number): boolean[][] =>
  length === 0
    ? [[]]
    : histories(length - 1).flatMap((h) => [
        [...h, true],
        [...h, false],
      ]);

describe("recordProbe", () => {
  it("matches the definition on every history up to 8 probes, for thresholds 1 to 4", () => {
    let checked = 0;
    for (let healthyThreshold = 1; healthyThreshold <= 4; healthyThreshold++) {
      for (let unhealthyThreshold = 1; unhealthyThreshold <= 4; unhealthyThreshold++) {
        const t = { healthyThreshold, unhealthyThreshold };
        for (let length = 0; length <= 8; length++) {
          for (const history of histories(length)) {
            const { state, transitions } = run(history, t);
            expect(state.status, `${JSON.stringify(t)} ${history.map(Number).join("")}`).toBe(
              expectedStatus(history, t),
            );
            // Counters are the run at the end of the history.
            const last = history.at(-1);
            let tail = 0;
            while (tail < history.length && history[history.length - 1 - tail] === last) tail++;
            expect(state.successes).toBe(last === true ? tail : 0);
            expect(state.failures).toBe(last === false ? tail : 0);
            // One transition per change of status, never from a status to itself.
            for (const tr of transitions) expect(tr.split(">")[0]).not.toBe(tr.split(">")[1]);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(16 * 511);
  });

  it("goes unhealthy on the threshold-th consecutive failure, not before", () => {
    const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
    const healthy = run([true, true], t).state;
    expect(healthy.status).toBe("healthy");
    expect(recordProbe(healthy, false, t).transition).toBeNull();
    const two = run([false, false], t, healthy);
    expect(two.state).toEqual({ status: "healthy", successes: 0, failures: 2 });
    expect(recordProbe(two.state, false, t)).toEqual({
      state: { status: "unhealthy", successes: 0, failures: 3 },
      transition: { from: "healthy", to: "unhealthy" },
    });
  });

  it("a success in between starts the count of failures again", () => {
    const t = { healthyThreshold: 1, unhealthyThreshold: 2 };
    expect(run([true, false, true, false, true, false], t)).toEqual({
      state: { status: "healthy", successes: 0, failures: 1 },
      transitions: ["unknown>healthy"],
    });
  });

  it("reports each change once: unknown, healthy, unhealthy, healthy", () => {
    const t = { healthyThreshold: 2, unhealthyThreshold: 2 };
    expect(run([true, true, true, false, false, false, true, true], t).transitions).toEqual([
      "unknown>healthy",
      "healthy>unhealthy",
      "unhealthy>healthy",
    ]);
  });

  it("leaves a new backend unknown until a threshold is met", () => {
    const t = { healthyThreshold: 3, unhealthyThreshold: 3 };
    expect(run([true, true, false, false, true], t)).toEqual({
      state: { status: "unknown", successes: 1, failures: 0 },
      transitions: [],
    });
  });
});
