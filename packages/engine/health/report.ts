import type { Backend, StepTarget } from "#core";
import { type ProbeStatus, targetStatus } from "#health";
import {
  type BackendHealth,
  type Db,
  listBackendHealth,
  listTargetFailover,
  readRoutingTable,
  type TargetFailoverRecord,
} from "#store";
import { targetKey } from "#strategy";

export type TargetHealthStatus = ProbeStatus | "recovering";

/** A target's health as operators see it. */
export interface TargetHealth extends StepTarget {
  readonly status: TargetHealthStatus;
  /** Its share of the workload's traffic as routers get it, in percent. */
  readonly weight: number;
  /** When its backends were last probed (ISO 8601), or null if never. */
  readonly lastCheck: string | null;
}

export interface TargetHealthInput {
  /** The workload's targets, in their order. */
  readonly targets: readonly StepTarget[];
  readonly backends: readonly BackendHealth[];
  readonly failover: readonly TargetFailoverRecord[];
  /** The effective routing table's backends. */
  readonly routed: readonly Backend[];
}

/**
 * Each target's health: failed over reads `unhealthy` and taking its share back `recovering`;
 * otherwise what its probed backends say. The workload's targets come first, in their order, then
 * any other target something still runs in (one a rollout is leaving).
 */
export const describeTargetHealth = ({
  targets,
  backends,
  failover,
  routed,
}: TargetHealthInput): TargetHealth[] => {
  const keys = [...new Set([...targets.map(targetKey), ...backends.map(targetKey)])];
  const total = routed.reduce((sum, b) => sum + b.weight, 0);
  const states = new Map(failover.map((f) => [targetKey(f), f.status]));
  return keys.flatMap((key) => {
    const target = targets.find((t) => targetKey(t) === key) ?? backends.find((b) => targetKey(b) === key);
    if (!target) return [];
    const here = backends.filter((b) => targetKey(b) === key);
    const probed = here.filter((b) => b.url !== "").map((b) => b.status);
    const state = states.get(key);
    const status: TargetHealthStatus =
      state === "failed" ? "unhealthy" : state === "recovering" ? "recovering" : targetStatus(probed);
    const weight = routed.filter((b) => targetKey(b) === key).reduce((sum, b) => sum + b.weight, 0);
    const checks = here.flatMap((b) => (b.lastCheck === null ? [] : [b.lastCheck])).sort();
    return [
      {
        cloud: target.cloud,
        region: target.region,
        status,
        weight: total > 0 ? Math.round((weight / total) * 10_000) / 100 : 0,
        lastCheck: checks.at(-1) ?? null,
      },
    ];
  });
};

/** Reads a workload's target health (see `describeTargetHealth`). */
export const readTargetHealth = async (
  db: Db,
  workload: { readonly id: string; readonly targets: readonly StepTarget[] },
): Promise<TargetHealth[]> => {
  const [backends, failover, table] = await Promise.all([
    listBackendHealth(db, workload.id),
    listTargetFailover(db, workload.id),
    readRoutingTable(db, workload.id),
  ]);
  return describeTargetHealth({
    targets: workload.targets,
    backends,
    failover,
    routed: table?.backends ?? [],
  });
};
