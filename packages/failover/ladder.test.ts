import { describe, expect, it } from "vitest";
import type { ProbeStatus } from "#health";
import {
  type LadderChange,
  nextRecoveryStep,
  nextTargetState,
  SERVING,
  type TargetFailover,
} from "./ladder.ts";

const options = (now: number, recoverySteps: readonly number[] = [25, 50, 100]) => ({
  now,
  intervalMs: 10_000,
  recoverySteps,
});

/** Feeds one health result per second; returns the percent and change after each. */
const walk = (healths: readonly ProbeStatus[], recoverySteps?: readonly number[], from = SERVING) => {
  let state: TargetFailover = from;
  return healths.map((health, i) => {
    const step = nextTargetState(state, health, options(i * 1_000, recoverySteps));
    state = step.state;
    return [state.percent, step.change] as const;
  });
};

describe("nextTargetState", () => {
  it("fails over at once when the target turns unhealthy, and stays failed", () => {
    const failed = nextTargetState(SERVING, "unhealthy", options(5_000));
    expect(failed).toEqual({
      state: { status: "failed", percent: 0, since: 5_000, nextStepAt: null },
      change: "failed_over",
    });
    expect(nextTargetState(failed.state, "unhealthy", options(9_000))).toEqual({
      state: failed.state,
      change: null,
    });
  });

  it("changes nothing while healthy, or while health is unknown", () => {
    expect(nextTargetState(SERVING, "healthy", options(1))).toEqual({ state: SERVING, change: null });
    expect(nextTargetState(SERVING, "unknown", options(1))).toEqual({ state: SERVING, change: null });
    const failed: TargetFailover = { status: "failed", percent: 0, since: 0, nextStepAt: null };
    expect(nextTargetState(failed, "unknown", options(1)).state).toBe(failed);
  });

  it("walks back up the ladder one step per interval", () => {
    const failed: TargetFailover = { status: "failed", percent: 0, since: 0, nextStepAt: null };
    const first = nextTargetState(failed, "healthy", options(100_000));
    expect(first).toEqual({
      state: { status: "recovering", percent: 25, since: 100_000, nextStepAt: 110_000 },
      change: "recovery_step",
    });
    // Not before the interval has passed.
    expect(nextTargetState(first.state, "healthy", options(109_999)).change).toBeNull();
    const second = nextTargetState(first.state, "healthy", options(110_000));
    expect(second).toEqual({
      state: { status: "recovering", percent: 50, since: 100_000, nextStepAt: 120_000 },
      change: "recovery_step",
    });
    expect(nextTargetState(second.state, "healthy", options(120_500))).toEqual({
      state: { status: "healthy", percent: 100, since: 120_500, nextStepAt: null },
      change: "recovered",
    });
  });

  it("fails over again from any step of a recovery", () => {
    const recovering: TargetFailover = { status: "recovering", percent: 50, since: 0, nextStepAt: 10_000 };
    expect(nextTargetState(recovering, "unhealthy", options(3_000))).toEqual({
      state: { status: "failed", percent: 0, since: 3_000, nextStepAt: null },
      change: "failed_over",
    });
  });

  it("with a single step of 100, recovers in one jump", () => {
    expect(walk(["unhealthy", "healthy"], [100])).toEqual([
      [0, "failed_over"],
      [100, "recovered"],
    ]);
  });

  it("follows any ladder to 100 in as many intervals as it has steps", () => {
    for (const steps of [[100], [50, 100], [25, 50, 100], [1, 2, 3, 5, 8, 13, 100], [99.5, 100]]) {
      let state: TargetFailover = { status: "failed", percent: 0, since: 0, nextStepAt: null };
      const seen: number[] = [];
      const changes: (LadderChange | null)[] = [];
      for (let now = 0; state.status !== "healthy"; now += 10_000) {
        const step = nextTargetState(state, "healthy", options(now, steps));
        state = step.state;
        seen.push(state.percent);
        changes.push(step.change);
      }
      expect(seen).toEqual(steps);
      expect(changes).toEqual([...steps.slice(0, -1).map(() => "recovery_step"), "recovered"]);
    }
  });

  it("continues from where it is when the ladder changed under it", () => {
    const recovering: TargetFailover = { status: "recovering", percent: 30, since: 0, nextStepAt: 0 };
    expect(nextTargetState(recovering, "healthy", options(0, [25, 50, 100])).state.percent).toBe(50);
    expect(nextTargetState(recovering, "healthy", options(0, [10, 100])).state.percent).toBe(100);
  });
});

describe("nextRecoveryStep", () => {
  it.each([
    [0, [25, 50, 100], 25],
    [25, [25, 50, 100], 50],
    [49, [25, 50, 100], 50],
    [50, [25, 50, 100], 100],
    [100, [25, 50, 100], 100],
    [0, [100], 100],
  ])("after %d in %j comes %d", (percent, steps, next) => {
    expect(nextRecoveryStep(percent, steps)).toBe(next);
  });
});
