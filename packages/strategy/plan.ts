import type { RolloutStep, RolloutStrategy } from "#core";
import { planBlueGreen } from "./blue-green.ts";
import { planCanary } from "./canary.ts";
import type { PlanContext } from "./context.ts";
import { planRolling } from "./rolling.ts";

/**
 * Plans a rollout with the workload's strategy. Without a stable revision (the first rollout, or
 * after every earlier one failed) there is nothing to compare or switch back to, so it rolls.
 */
export const planRollout = (
  ctx: PlanContext,
  strategy: RolloutStrategy,
  stable: number | null,
): RolloutStep[] => {
  if (stable === null || stable === ctx.toRevision) return planRolling(ctx);
  switch (strategy.type) {
    case "rolling":
      return planRolling(ctx);
    case "canary":
      return planCanary(ctx, strategy, stable);
    case "blueGreen":
      return planBlueGreen(ctx, strategy);
  }
};
