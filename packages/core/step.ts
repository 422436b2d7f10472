import type { Cloud } from "./cloud.ts";

/** Where a step acts: one target of the workload. */
export interface StepTarget {
  readonly cloud: Cloud;
  readonly region: string;
}

/** One revision's share of a workload's traffic in one target, in percent. */
export interface BackendWeight extends StepTarget {
  readonly revision: number;
  readonly weight: number;
}

/**
 * One idempotent unit of rollout work. A rollout is a list of these, worked through in order;
 * re-running a step that already took effect changes nothing, which is what makes resume safe.
 */
export type RolloutStep =
  | (StepTarget & { readonly kind: "deploy"; readonly revision: number; readonly replicas: number })
  | (StepTarget & { readonly kind: "await_ready"; readonly revision: number })
  /** Gives the target's traffic (`weight`, in percent) to `to` and takes it from every other revision there. */
  | (StepTarget & { readonly kind: "shift"; readonly to: number | null; readonly weight: number })
  /** Sets the whole workload's weights at once: the backends listed get theirs, every other one 0. */
  | { readonly kind: "set_weights"; readonly weights: readonly BackendWeight[] }
  /** Waits `durationSeconds`, or until promoted when null. */
  | { readonly kind: "pause"; readonly durationSeconds: number | null }
  /** Judges `canary` against `stable` on live traffic for `durationSeconds`; a regression rolls back. */
  | {
      readonly kind: "analysis";
      readonly durationSeconds: number;
      readonly canary: number;
      readonly stable: number;
    }
  /** Removes a revision from a target once it has been out of traffic for `keepSeconds` (and drained). */
  | (StepTarget & { readonly kind: "remove"; readonly revision: number; readonly keepSeconds?: number });

export type RolloutStepKind = RolloutStep["kind"];

/** Steps that wait for time or a person and that `promote` may skip. */
export const isGate = (step: RolloutStep): boolean => step.kind === "pause" || step.kind === "analysis";
