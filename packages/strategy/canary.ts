import type { BackendWeight, CanaryStrategy, RolloutStep, Target, TargetSelector } from "#core";
import { type PlanContext, targetKey, targetWeights } from "./context.ts";
import { allTrafficTo, deployAndAwait, removeTheRest } from "./finish.ts";

const selected = (targets: readonly Target[], selectors: readonly TargetSelector[] | undefined): Target[] =>
  selectors === undefined
    ? [...targets]
    : targets.filter((t) =>
        selectors.some((s) => s.cloud === t.cloud && (s.region === undefined || s.region === t.region)),
      );

/**
 * The workload's weights with `percent` of all traffic on the canary, spread over `canaryTargets`
 * by replicas, and the rest on stable, spread over the targets where stable runs.
 */
const canaryWeights = (
  stableTargets: readonly Target[],
  canaryTargets: readonly Target[],
  stable: number,
  canary: number,
  percent: number,
): BackendWeight[] => {
  const stableShare = targetWeights(stableTargets, 100 - percent);
  const canaryShare = targetWeights(canaryTargets, percent);
  return [
    ...stableTargets.map((t) => ({
      cloud: t.cloud,
      region: t.region,
      revision: stable,
      weight: stableShare.get(targetKey(t)) ?? 0,
    })),
    ...canaryTargets.map((t) => ({
      cloud: t.cloud,
      region: t.region,
      revision: canary,
      weight: canaryShare.get(targetKey(t)) ?? 0,
    })),
  ].filter((w) => w.weight > 0);
};

/**
 * Plans a canary: the new revision takes the share of traffic each `setWeight` step names, in the
 * targets it names (so a canary can start in one region and widen in waves), with pauses and
 * analysis between; then it takes everything and the old revision is removed. The canary is
 * deployed in a target just before the first step that sends it traffic there, and everywhere
 * (again, which changes nothing where it runs) before it takes everything.
 */
export const planCanary = (ctx: PlanContext, strategy: CanaryStrategy, stable: number): RolloutStep[] => {
  const { targets, toRevision: canary } = ctx;
  const stableTargets = targets.filter((t) =>
    ctx.running.some((r) => r.revision === stable && targetKey(r) === targetKey(t)),
  );
  const deployed = new Set<string>();
  const ensureDeployed = (where: readonly Target[]): RolloutStep[] => {
    const fresh = where.filter((t) => !deployed.has(targetKey(t)));
    for (const t of fresh) deployed.add(targetKey(t));
    return deployAndAwait(fresh, canary);
  };

  const steps: RolloutStep[] = [];
  for (const spec of strategy.steps) {
    if ("setWeight" in spec) {
      const where = selected(targets, spec.targets);
      steps.push(...ensureDeployed(where));
      steps.push({
        kind: "set_weights",
        weights: canaryWeights(stableTargets, where, stable, canary, spec.setWeight),
      });
    } else if ("pause" in spec) {
      steps.push({ kind: "pause", durationSeconds: spec.pause.durationSeconds ?? null });
    } else {
      steps.push({ kind: "analysis", durationSeconds: spec.analysis.durationSeconds, canary, stable });
    }
  }
  // Every target again, though earlier steps may have deployed it: a full promotion skips them.
  steps.push(...deployAndAwait(targets, canary));
  steps.push({ kind: "set_weights", weights: allTrafficTo(targets, canary) });
  steps.push(...removeTheRest(ctx));
  return steps;
};
