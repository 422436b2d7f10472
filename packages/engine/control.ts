import { DevsimError, isGate, notFound, type RolloutStatus } from "#core";
import {
  appendEvent,
  type Db,
  findActiveRollout,
  findRevision,
  findWorkload,
  findWorkloadById,
  jumpToStep,
  listDegradedTargets,
  listRollouts,
  lockRollout,
  lockWorkload,
  type RolloutRecord,
  requestReconcile,
  setRolloutStatus,
} from "#store";
import { type CommandDeps, planAndInsertRollout } from "./commands.ts";
import { degradedConflict } from "./health/degraded.ts";
import { returnToStable } from "./return-to-stable.ts";
import { DEFAULT_DRAIN_MS } from "./steps.ts";

const invalid = (rollout: Pick<RolloutRecord, "id" | "status">, why: string): DevsimError =>
  new DevsimError("invalid_transition", `rollout ${rollout.id} is ${rollout.status}: ${why}`, {
    rollout: rollout.id,
    status: rollout.status,
  });

const LIVE: ReadonlySet<RolloutStatus> = new Set(["progressing", "paused"]);

/** Runs `change` on a locked live rollout, records an event, and asks the reconciler to look. */
const control = async (
  deps: CommandDeps,
  id: string,
  change: (rollout: RolloutRecord, tx: Db) => Promise<{ type: string; message: string }>,
): Promise<RolloutRecord> => {
  const updated = await deps.sql.begin(async (tx) => {
    const rollout = await lockRollout(tx, id);
    if (!rollout) throw notFound("rollout", id);
    if (!LIVE.has(rollout.status)) throw invalid(rollout, "it has ended");
    const { type, message } = await change(rollout, tx);
    await appendEvent(tx, {
      workloadId: rollout.workloadId,
      rolloutId: id,
      type,
      message,
      data: { step: rollout.currentStep },
    });
    await requestReconcile(tx, rollout.workloadId);
    return lockRollout(tx, id);
  });
  deps.kick();
  if (!updated) throw notFound("rollout", id);
  return updated;
};

/** Refuses to promote while a target of the workload is failed over or recovering. */
const refuseWhileDegraded = async (tx: Db, rollout: RolloutRecord): Promise<void> => {
  const degraded = await listDegradedTargets(tx, rollout.workloadId);
  if (degraded.length > 0) throw degradedConflict(rollout.workload, degraded);
};

/**
 * Skips the pause or analysis the rollout waits at, or with `full` every one left, so it goes
 * straight to serving all traffic from the new revision. Refused (conflict) while the workload is
 * degraded by a failover.
 */
export const promoteRollout = (
  deps: CommandDeps,
  id: string,
  { full = false } = {},
): Promise<RolloutRecord> =>
  control(deps, id, async (rollout, tx) => {
    await refuseWhileDegraded(tx, rollout);
    const lastGate = rollout.steps.findLastIndex(isGate);
    const current = rollout.steps[rollout.currentStep];
    let to: number;
    if (full) {
      if (lastGate < rollout.currentStep) throw invalid(rollout, "no pause or analysis is left to skip");
      to = lastGate + 1;
    } else {
      if (!current || !isGate(current)) {
        throw invalid(
          rollout,
          `step ${rollout.currentStep} (${current?.kind ?? "end"}) is not a pause or analysis`,
        );
      }
      to = rollout.currentStep + 1;
    }
    if (!(await jumpToStep(tx, rollout.id, rollout.version, to)))
      throw invalid(rollout, "it moved on meanwhile");
    return {
      type: "promoted",
      message: full ? "promoted to the end" : `promoted past step ${rollout.currentStep}`,
    };
  });

/** Stops a rollout where it is; traffic stays as it is until it is resumed or aborted. */
export const pauseRollout = (deps: CommandDeps, id: string): Promise<RolloutRecord> =>
  control(deps, id, async (rollout, tx) => {
    if (!(await setRolloutStatus(tx, rollout.id, "progressing", "paused", "paused by an operator"))) {
      throw invalid(rollout, "only a progressing rollout can be paused");
    }
    return { type: "paused", message: "paused by an operator" };
  });

/**
 * Carries on a paused rollout; at a pause that waits for promotion, this promotes it, and is then
 * refused like a promotion while the workload is degraded.
 */
export const resumeRollout = (deps: CommandDeps, id: string): Promise<RolloutRecord> =>
  control(deps, id, async (rollout, tx) => {
    if (rollout.status !== "paused") throw invalid(rollout, "only a paused rollout can be resumed");
    const current = rollout.steps[rollout.currentStep];
    const past = current?.kind === "pause" && current.durationSeconds === null ? 1 : 0;
    if (past) await refuseWhileDegraded(tx, rollout);
    if (!(await jumpToStep(tx, rollout.id, rollout.version, rollout.currentStep + past))) {
      throw invalid(rollout, "it moved on meanwhile");
    }
    return {
      type: "resumed",
      message: past ? `resumed past the pause at step ${rollout.currentStep}` : "resumed",
    };
  });

/** Ends a rollout and puts all traffic back on the stable revision at once. */
export const abortRollout = async (deps: CommandDeps, id: string): Promise<RolloutRecord> => {
  const rollout = await deps.sql.begin((tx) => lockRollout(tx, id));
  if (!rollout) throw notFound("rollout", id);
  const workload = await findWorkloadById(deps.sql, rollout.workloadId);
  if (!workload) throw notFound("rollout", id);
  const ended = await returnToStable(deps, workload, id, {
    status: "aborted",
    message: "aborted by an operator",
    drainMs: DEFAULT_DRAIN_MS,
  });
  deps.kick();
  return ended;
};

/**
 * Rolls a workload back. With a rollout in flight, that rollout ends `rolled_back` and traffic
 * returns to its stable revision at once. Otherwise a new rollout takes the workload to the last
 * revision that succeeded before the current one, fast: it already proved itself, so it rolls
 * without pauses or analysis.
 */
export const rollbackWorkload = async (deps: CommandDeps, name: string): Promise<RolloutRecord> => {
  const workload = await findWorkload(deps.sql, name);
  if (!workload) throw notFound("workload", name);
  const active = await findActiveRollout(deps.sql, workload.id);
  if (active) {
    const ended = await returnToStable(deps, workload, active.id, {
      status: "rolled_back",
      message: "rolled back by an operator",
      drainMs: DEFAULT_DRAIN_MS,
    });
    deps.kick();
    return ended;
  }
  const previous = (await listRollouts(deps.sql, workload.id)).find(
    (r) => r.status === "succeeded" && r.toRevision !== workload.stableRevision,
  );
  if (!previous) {
    throw new DevsimError(
      "conflict",
      `workload '${name}' has no earlier revision that succeeded to roll back to`,
      {
        workload: name,
        stableRevision: workload.stableRevision,
      },
    );
  }
  const rollout = await deps.sql.begin(async (tx) => {
    const locked = await lockWorkload(tx, name);
    if (!locked) throw notFound("workload", name);
    if (!(await findRevision(tx, locked.id, previous.toRevision)))
      throw notFound("revision", previous.toRevision);
    const strategy = {
      type: "rolling" as const,
      progressDeadlineSeconds: locked.strategy.progressDeadlineSeconds,
    };
    return planAndInsertRollout(tx, locked, locked.targets, previous.toRevision, strategy);
  });
  deps.kick();
  return rollout;
};
