import type { BlueGreenStrategy, RolloutStep } from "#core";
import type { PlanContext } from "./context.ts";
import { allTrafficTo, deployAndAwait, removeTheRest } from "./finish.ts";

/**
 * Plans a blue-green rollout: the new revision starts beside the old one in every target, all
 * traffic switches to it in one write, and the old revision keeps running for
 * `scaleDownDelaySeconds` so that switching back is instant.
 */
export const planBlueGreen = (ctx: PlanContext, strategy: BlueGreenStrategy): RolloutStep[] => [
  ...deployAndAwait(ctx.targets, ctx.toRevision),
  { kind: "set_weights", weights: allTrafficTo(ctx.targets, ctx.toRevision) },
  ...removeTheRest(ctx, strategy.scaleDownDelaySeconds),
];
