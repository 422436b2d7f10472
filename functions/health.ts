import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { deployedControlPlane } from "#config";
import { runHealthPass } from "#engine";

// Built once per container as it starts; a failure surfaces in every invocation, with its cause.
const ready = deployedControlPlane(process.env);
ready.catch(() => {});

/** How long one invocation keeps probing: the schedule starts one a minute. */
const RUN_FOR_MS = z.coerce.number().min(0).max(840).default(55).parse(process.env.HEALTH_RUN_SECONDS) * 1000;
/** Between passes; each workload is still probed only on its own interval. */
const PAUSE_MS = 1_000;

/** Scheduled every minute; runs health passes until just before the next invocation starts. */
export const handler = async (): Promise<{ passes: number; probes: number; changes: number }> => {
  const deps = await ready;
  const until = Date.now() + RUN_FOR_MS;
  let passes = 0;
  let probes = 0;
  let changes = 0;
  while (Date.now() < until) {
    const result = await runHealthPass(deps, { now: new Date() });
    passes++;
    probes += result.probes;
    changes += result.changes.length;
    await sleep(Math.min(PAUSE_MS, Math.max(0, until - Date.now())));
  }
  return { passes, probes, changes };
};
