import type { RolloutStep } from "#core";
import { type PlanContext, targetKey, targetWeights } from "./context.ts";

/**
 * Plans a rolling update, one target at a time: start the new revision beside the old one, wait
 * until it is ready, move the target's traffic to it, then remove what ran there before. Targets
 * the workload leaves are drained and emptied last, so capacity only shrinks once the new targets
 * serve.
 */
export const planRolling = ({ targets, running, toRevision }: PlanContext): RolloutStep[] => {
  const weights = targetWeights(targets);
  const steps: RolloutStep[] = [];
  const staleIn = (cloud: string, region: string, keep: number | null): number[] =>
    running
      .filter((r) => r.cloud === cloud && r.region === region && r.revision !== keep)
      .map((r) => r.revision)
      .sort((a, b) => a - b);

  for (const t of targets) {
    const at = { cloud: t.cloud, region: t.region };
    steps.push({ kind: "deploy", ...at, revision: toRevision, replicas: t.replicas });
    steps.push({ kind: "await_ready", ...at, revision: toRevision });
    steps.push({ kind: "shift", ...at, to: toRevision, weight: weights.get(targetKey(t)) ?? 0 });
    for (const revision of staleIn(t.cloud, t.region, toRevision))
      steps.push({ kind: "remove", ...at, revision });
  }

  const kept = new Set(targets.map(targetKey));
  const leaving = [
    ...new Map(running.filter((r) => !kept.has(targetKey(r))).map((r) => [targetKey(r), r])).values(),
  ];
  for (const r of leaving) {
    const at = { cloud: r.cloud, region: r.region };
    steps.push({ kind: "shift", ...at, to: null, weight: 0 });
    for (const revision of staleIn(r.cloud, r.region, null)) steps.push({ kind: "remove", ...at, revision });
  }
  return steps;
};
