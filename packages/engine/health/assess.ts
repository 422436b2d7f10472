import { AdapterError, type StepTarget } from "#core";
import {
  type LadderChange,
  nextTargetState,
  planScaling,
  type ScaleChange,
  SERVING,
  type TargetFailover,
} from "#failover";
import { type ProbeStatus, type ProbeStep, recordProbe, targetStatus } from "#health";
import {
  appendEvent,
  type BackendHealth,
  forgetVacatedTargets,
  listBackends,
  listDegradedTargets,
  listTargetFailover,
  type RoutingState,
  readRoutingState,
  recordProbes,
  requestReconcile,
  setScaledReplicas,
  setTargetFailover,
  type WorkloadRecord,
} from "#store";
import { targetKey } from "#strategy";
import type { EngineDeps } from "../deps.ts";
import { deploymentTarget } from "../targets.ts";
import type { ProbeOutcome } from "./probe.ts";

/** What the health pass needs: the database, the clouds (to scale survivors) and the routing tables. */
export type HealthDeps = Pick<EngineDeps, "sql" | "adapters" | "routing" | "log">;

/** One backend and what probing it found in this pass. */
export interface Probed {
  readonly backend: BackendHealth;
  readonly outcome: ProbeOutcome;
}

/** A target whose failover state changed in a pass. */
export interface TargetChange extends StepTarget {
  readonly workload: string;
  readonly change: LadderChange;
  readonly percent: number;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Where a failed target's weight went, in percent of the workload's traffic. */
const movedTo = (
  routing: RoutingState,
  from: StepTarget,
): { cloud: string; region: string; weight: number }[] => {
  const total = routing.overlay.shares.reduce((sum, s) => sum + s.normal, 0);
  return routing.overlay.moves
    .filter((m) => targetKey(m.from) === targetKey(from))
    .map((m) => ({ ...m.to, weight: total > 0 ? round2((m.weight / total) * 100) : 0 }));
};

const recordProbeResults = async (
  deps: HealthDeps,
  workload: WorkloadRecord,
  stepped: readonly (Probed & ProbeStep)[],
  changes: readonly (StepTarget & { state: TargetFailover })[],
  now: Date,
): Promise<void> => {
  await deps.sql.begin(async (tx) => {
    await recordProbes(
      tx,
      workload.id,
      stepped.map((s) => ({ ...s.backend, state: s.state, checkedAt: now, error: s.outcome.error })),
    );
    for (const c of changes)
      await setTargetFailover(tx, workload.id, { cloud: c.cloud, region: c.region, ...c.state });
    await forgetVacatedTargets(tx, workload.id);
    // Backends going bad or coming back; a new backend turning healthy is no news.
    for (const { backend: b, transition, outcome, state } of stepped) {
      if (!transition || (transition.to !== "unhealthy" && transition.from !== "unhealthy")) continue;
      const where = `revision ${b.revision} in ${b.cloud}/${b.region}`;
      await appendEvent(tx, {
        workloadId: workload.id,
        type: `health.${transition.to}`,
        message:
          transition.to === "unhealthy"
            ? `${where} failed ${state.failures} health checks in a row: ${outcome.error ?? "unknown error"}`
            : `${where} passed ${state.successes} health checks in a row`,
        data: { cloud: b.cloud, region: b.region, revision: b.revision, url: b.url, error: outcome.error },
      });
    }
  });
};

const recordTargetChange = async (
  deps: HealthDeps,
  workload: WorkloadRecord,
  routing: RoutingState,
  c: StepTarget & { change: LadderChange; state: TargetFailover },
): Promise<void> => {
  const where = `${c.cloud}/${c.region}`;
  const target = { cloud: c.cloud, region: c.region };
  const event = (type: string, message: string, data: Record<string, unknown>) =>
    appendEvent(deps.sql, { workloadId: workload.id, type, message, data: { ...target, ...data } });
  switch (c.change) {
    case "failed_over": {
      if (routing.overlay.allDown) {
        deps.log.error(
          { workload: workload.name, ...target },
          "every target is unhealthy; routing left as it was",
        );
        await event(
          "failover.no_survivors",
          `${where} is unhealthy and so is every other target: traffic stays where it was rather than go nowhere`,
          {},
        );
        return;
      }
      const to = movedTo(routing, target);
      const list = to.map((t) => `${t.cloud}/${t.region} +${t.weight}%`).join(", ");
      deps.log.warn({ workload: workload.name, ...target, movedTo: to }, "target failed over");
      await event(
        "failover.started",
        `${where} is unhealthy: its traffic moved to ${list || "no other target"}`,
        {
          movedTo: to,
        },
      );
      return;
    }
    case "recovery_step":
      await event(
        "failover.recovery_step",
        `${where} is healthy again and takes ${c.state.percent}% of its share back`,
        { percent: c.state.percent },
      );
      return;
    case "recovered":
      deps.log.info({ workload: workload.name, ...target }, "target recovered");
      await event("failover.recovered", `${where} takes its full share again`, { percent: 100 });
  }
};

/**
 * The replicas a deployment is set to, or null when that cannot be read: a scale that failed may
 * still have set them before a later part of it (growing a node pool, say) failed.
 */
const desiredReplicas = async (
  deps: HealthDeps,
  workload: WorkloadRecord,
  c: ScaleChange,
): Promise<number | null> => {
  try {
    const status = await deps.adapters[c.cloud].describe(deploymentTarget(workload, c), c.revision);
    return status?.desiredReplicas ?? null;
  } catch (error) {
    if (!(error instanceof AdapterError)) throw error;
    return null;
  }
};

const scaleSurvivors = async (
  deps: HealthDeps,
  workload: WorkloadRecord,
  changes: readonly ScaleChange[],
): Promise<void> => {
  for (const c of changes) {
    const key = { cloud: c.cloud, region: c.region, revision: c.revision };
    const data = { ...key, from: c.from, to: c.to };
    const where = `revision ${c.revision} in ${c.cloud}/${c.region}`;
    try {
      await deps.adapters[c.cloud].scale(deploymentTarget(workload, c), c.revision, c.to);
    } catch (error) {
      if (!(error instanceof AdapterError)) throw error;
      // Replicas that were set are recorded even so, or a scale-up would never be scaled back;
      // otherwise the record still says what runs, and the next pass tries again.
      const set = (await desiredReplicas(deps, workload, c)) === c.to;
      await appendEvent(deps.sql, {
        workloadId: workload.id,
        type: "failover.scale_failed",
        message: set
          ? `${where} is set to ${c.to} replicas, but the scale did not complete: ${error.message}`
          : `could not scale ${where} to ${c.to}: ${error.message}`,
        data: { ...data, failure: error.failure, replicasSet: set },
      });
      if (!set) continue;
    }
    await setScaledReplicas(deps.sql, workload.id, key, c.kind === "up" ? c.to : null);
    await appendEvent(deps.sql, {
      workloadId: workload.id,
      type: c.kind === "up" ? "failover.scaled_up" : "failover.scaled_back",
      message:
        c.kind === "up"
          ? `${where} scaled from ${c.from} to ${c.to} replicas to absorb a failed target's share`
          : `${where} scaled back from ${c.from} to ${c.to} replicas`,
      data,
    });
  }
};

/**
 * Takes one pass's probe outcomes for a workload: moves each backend's probe state on, each
 * target's failover state after it, records both with their events, publishes the routing table
 * at once when a target's share changed, and scales the survivors up (or, once every target is
 * back, down again). Returns the targets whose failover state changed.
 */
export const assessWorkload = async (
  deps: HealthDeps,
  workload: WorkloadRecord,
  probed: readonly Probed[],
  now: Date,
): Promise<TargetChange[]> => {
  const check = workload.healthCheck;
  const stepped = probed.map((p) => ({ ...p, ...recordProbe(p.backend, p.outcome.ok, check) }));
  const health = new Map<string, { target: StepTarget; statuses: ProbeStatus[] }>();
  for (const s of stepped) {
    const key = targetKey(s.backend);
    const entry = health.get(key) ?? {
      target: { cloud: s.backend.cloud, region: s.backend.region },
      statuses: [],
    };
    entry.statuses.push(s.state.status);
    health.set(key, entry);
  }
  const before = new Map((await listTargetFailover(deps.sql, workload.id)).map((f) => [targetKey(f), f]));
  const options = {
    now: now.getTime(),
    intervalMs: check.intervalSeconds * 1000,
    recoverySteps: workload.failover.recoverySteps,
  };
  const changes = [...health].flatMap(([key, { target, statuses }]) => {
    const step = nextTargetState(before.get(key) ?? SERVING, targetStatus(statuses), options);
    return step.change ? [{ ...target, change: step.change, state: step.state }] : [];
  });

  await recordProbeResults(deps, workload, stepped, changes, now);
  const routing = await readRoutingState(deps.sql, workload.id);
  if (!routing) return [];
  // Routers learn at once; the reconciler publishes the same table (same version) when it next looks.
  if (changes.length > 0) await deps.routing.publish(routing.table);
  for (const c of changes) await recordTargetChange(deps, workload, routing, c);

  const degraded = await listDegradedTargets(deps.sql, workload.id);
  const backends = (await listBackends(deps.sql, workload.id)).filter((b) => b.state === "running");
  const plan = planScaling({
    backends,
    shares: routing.overlay.shares,
    recovered: degraded.length === 0,
    scaleUp: workload.failover.scaleSurvivors && !routing.overlay.allDown,
  });
  await scaleSurvivors(deps, workload, plan);
  // A rollout held for the failover may carry on now.
  if (degraded.length === 0 && changes.some((c) => c.change === "recovered")) {
    await requestReconcile(deps.sql, workload.id);
  }
  return changes.map((c) => ({
    workload: workload.name,
    cloud: c.cloud,
    region: c.region,
    change: c.change,
    percent: c.state.percent,
  }));
};
