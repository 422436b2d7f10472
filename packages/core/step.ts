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
  | (StepTarget & { readonly kind: "shift"; readonly from: number | null; readonly to: number })
  | (StepTarget & { readonly kind: "remove"; readonly revision: number });

export type RolloutStepKind = RolloutStep["kind"];
