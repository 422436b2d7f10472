import { z } from "zod";
import { deployedControlPlane } from "#config";
import { createReconciler } from "#engine";

// Built once per container as it starts; a failure surfaces in every invocation, with its cause.
const ready = deployedControlPlane(process.env).then((deps) => createReconciler(deps));

/** How long one invocation keeps reconciling: the schedule starts one a minute. */
const RUN_FOR_MS =
  z.coerce.number().min(0).max(840).default(55).parse(process.env.RECONCILE_RUN_SECONDS) * 1000;
ready.catch(() => {});
const PAUSE_MS = 250;

/** Scheduled every minute; reconciles in passes until just before the next invocation starts. */
export const handler = async (): Promise<{ passes: number; claimed: number }> => {
  const reconciler = await ready;
  const until = Date.now() + RUN_FOR_MS;
  let passes = 0;
  let claimed = 0;
  while (Date.now() < until) {
    const n = await reconciler.reconcileOnce();
    passes++;
    claimed += n;
    if (n === 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  return { passes, claimed };
};
