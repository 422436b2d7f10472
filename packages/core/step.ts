import type { Cloud } from "./cloud.ts";

/** Where a step acts: one target of the workload. */
export interface StepTarget {
  readonly cloud: Cloud;
  readonly region: string;
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
  | (StepTarget & { readonly kind: "remove"; readonly revision: number });

export type RolloutStepKind = RolloutStep["kind"];
