import type { BackendWeight, RolloutStep, Target } from "#core";
import { type PlanContext, targetKey, targetWeights } from "./context.ts";

/** Deploys `revision` in each target and waits until it is ready there. */
export const deployAndAwait = (targets: readonly Target[], revision: number): RolloutStep[] =>
  targets.flatMap((t): RolloutStep[] => [
    { kind: "deploy", cloud: t.cloud, region: t.region, revision, replicas: t.replicas },
    { kind: "await_ready", cloud: t.cloud, region: t.region, revision },
  ]);

/** The whole workload's traffic on one revision, spread over the targets by replicas. */
export const allTrafficTo = (targets: readonly Target[], revision: number): BackendWeight[] => {
  const weights = targetWeights(targets);
  return targets.map((t) => ({
    cloud: t.cloud,
    region: t.region,
    revision,
    weight: weights.get(targetKey(t)) ?? 0,
  }));
};

/**
 * Removes every revision but `toRevision` from the workload's targets and everything from the
 * targets it leaves, once traffic no longer reaches them.
 */
export const removeTheRest = (
  { targets, running, toRevision }: PlanContext,
  keepSeconds?: number,
): RolloutStep[] => {
  const kept = new Set(targets.map(targetKey));
  return running
    .filter((r) => r.revision !== toRevision || !kept.has(targetKey(r)))
    .toSorted((a, b) => targetKey(a).localeCompare(targetKey(b)) || a.revision - b.revision)
    .map((r) => ({
      kind: "remove" as const,
      cloud: r.cloud,
      region: r.region,
      revision: r.revision,
      ...(keepSeconds ? { keepSeconds } : {}),
    }));
};
