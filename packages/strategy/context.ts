import type { Cloud, Target } from "#core";

/** A revision running in a target now, as the planner sees it. */
export interface RunningRevision {
  readonly cloud: Cloud;
  readonly region: string;
  readonly revision: number;
}

/** Everything a strategy needs to plan a rollout; plain values, no I/O. */
export interface PlanContext {
  /** The targets the workload should run in once the rollout is done. */
  readonly targets: readonly Target[];
  /** What runs now, in any target, including targets the workload is leaving. */
  readonly running: readonly RunningRevision[];
  /** The revision the rollout moves to. */
  readonly toRevision: number;
}

export const targetKey = (t: { readonly cloud: Cloud; readonly region: string }): string =>
  `${t.cloud}/${t.region}`;

/**
 * Shares of `total` percent in proportion to replicas, rounded to hundredths. The last target
 * takes the rounding remainder so the shares sum to exactly `total`.
 */
export const targetWeights = (targets: readonly Target[], total = 100): Map<string, number> => {
  const replicas = targets.reduce((sum, t) => sum + t.replicas, 0);
  const weights = new Map<string, number>();
  let assigned = 0;
  targets.forEach((t, i) => {
    const share =
      i === targets.length - 1
        ? Math.round((total - assigned) * 100) / 100
        : Math.round((t.replicas / replicas) * total * 100) / 100;
    assigned += share;
    weights.set(targetKey(t), share);
  });
  return weights;
};
