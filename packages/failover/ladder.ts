import type { ProbeStatus } from "#health";

/** Where a target stands: serving its full share, failed over, or taking its share back step by step. */
export type FailoverStatus = "healthy" | "failed" | "recovering";

export interface TargetFailover {
  readonly status: FailoverStatus;
  /** Percent of its normal share the target takes: 100 healthy, 0 failed, a recovery step between. */
  readonly percent: number;
  /** When the status began, in epoch ms. */
  readonly since: number;
  /** While recovering: when the next step is due, in epoch ms. */
  readonly nextStepAt: number | null;
}

/** A target with no failover history. */
export const SERVING: TargetFailover = { status: "healthy", percent: 100, since: 0, nextStepAt: null };

/** What a change of failover state means, for its event. */
export type LadderChange = "failed_over" | "recovery_step" | "recovered";

export interface LadderOptions {
  /** Now, in epoch ms. */
  readonly now: number;
  /** One health interval: the time between two recovery steps. */
  readonly intervalMs: number;
  /** Percent steps back to the full share, strictly increasing and ending at 100. */
  readonly recoverySteps: readonly number[];
}

export interface LadderStep {
  readonly state: TargetFailover;
  readonly change: LadderChange | null;
}

/** The first recovery step above `percent`; 100 when the steps say nothing above it. */
export const nextRecoveryStep = (percent: number, steps: readonly number[]): number =>
  steps.find((s) => s > percent) ?? 100;

const stepTo = (state: TargetFailover, percent: number, options: LadderOptions): LadderStep =>
  percent >= 100
    ? {
        state: { status: "healthy", percent: 100, since: options.now, nextStepAt: null },
        change: "recovered",
      }
    : {
        state: {
          status: "recovering",
          percent,
          since: state.status === "recovering" ? state.since : options.now,
          nextStepAt: options.now + options.intervalMs,
        },
        change: "recovery_step",
      };

/**
 * Moves a target's failover state on after a health pass: an unhealthy target fails over at once
 * (whatever step of a recovery it had reached); a failed target found healthy takes the first
 * recovery step; a recovering one takes the next step once an interval has passed since the last.
 * A target whose health is unknown stays where it is.
 *
 * @example
 * nextTargetState(SERVING, "unhealthy", { now, intervalMs: 10_000, recoverySteps: [25, 50, 100] })
 * // { state: { status: "failed", percent: 0, since: now, nextStepAt: null }, change: "failed_over" }
 */
export const nextTargetState = (
  state: TargetFailover,
  health: ProbeStatus,
  options: LadderOptions,
): LadderStep => {
  if (health === "unhealthy") {
    if (state.status === "failed") return { state, change: null };
    return {
      state: { status: "failed", percent: 0, since: options.now, nextStepAt: null },
      change: "failed_over",
    };
  }
  if (health === "unknown" || state.status === "healthy") return { state, change: null };
  if (state.status === "failed") return stepTo(state, nextRecoveryStep(0, options.recoverySteps), options);
  if (state.nextStepAt !== null && options.now < state.nextStepAt) return { state, change: null };
  return stepTo(state, nextRecoveryStep(state.percent, options.recoverySteps), options);
};
