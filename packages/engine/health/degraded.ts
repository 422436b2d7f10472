import { DevsimError } from "#core";
import type { DegradedTarget } from "#store";

/** Says which targets keep a workload degraded, for people. */
export const degradedReason = (workload: string, targets: readonly DegradedTarget[]): string => {
  const list = targets
    .map((t) =>
      t.status === "recovering"
        ? `${t.cloud}/${t.region} recovering (${t.percent}%)`
        : `${t.cloud}/${t.region} failed over`,
    )
    .join(", ");
  return `workload '${workload}' is degraded: ${list}`;
};

/** The refusal of a promotion while the workload is degraded. */
export const degradedConflict = (workload: string, targets: readonly DegradedTarget[]): DevsimError =>
  new DevsimError(
    "conflict",
    `${degradedReason(workload, targets)}; promote once every target is back to full traffic`,
    {
      workload,
      degradedTargets: targets.map((t) => ({
        cloud: t.cloud,
        region: t.region,
        status: t.status,
        percent: t.percent,
      })),
    },
  );
