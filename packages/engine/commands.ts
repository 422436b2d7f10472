import {
  configHash,
  DEFAULT_FAILOVER_POLICY,
  DevsimError,
  healthCheckSettings,
  notFound,
  type RevisionConfig,
  type RolloutInput,
  type RolloutStrategy,
  type Target,
  type WorkloadInput,
  type WorkloadUpdate,
} from "#core";
import {
  appendEvent,
  type Db,
  findActiveRollout,
  findRevision,
  finishRollout,
  insertRevision,
  insertRollout,
  insertWorkload,
  listBackends,
  lockWorkload,
  markAllBackendsRemoving,
  markWorkloadDeleted,
  type RolloutRecord,
  requestReconcile,
  updateWorkloadSpec,
  type WorkloadRecord,
} from "#store";
import { planRollout } from "#strategy";
import type { EngineDeps, RegionCatalog } from "./deps.ts";
import { DEFAULT_DRAIN_MS } from "./steps.ts";

export interface CommandDeps extends EngineDeps {
  readonly regions: RegionCatalog;
  /** Tells the reconciler there is work; in production a queue message, locally a direct call. */
  readonly kick: () => void;
}

const isUniqueViolation = (error: unknown, constraint: string): boolean =>
  error instanceof Error &&
  "code" in error &&
  error.code === "23505" &&
  "constraint_name" in error &&
  error.constraint_name === constraint;

const checkRegions = (regions: RegionCatalog, targets: readonly Target[]): void => {
  targets.forEach((t, i) => {
    const known = regions[t.cloud];
    if (!known.includes(t.region)) {
      throw new DevsimError(
        "invalid_input",
        `targets.${i}.region: '${t.region}' is not a region of ${t.cloud}`,
        {
          field: `targets.${i}.region`,
          allowed: known,
        },
      );
    }
  });
};

const conflictWithActive = (workload: string, active: Pick<RolloutRecord, "id" | "status">): DevsimError =>
  new DevsimError("conflict", `workload '${workload}' already has rollout ${active.id} ${active.status}`, {
    workload,
    rollout: active.id,
    status: active.status,
  });

/** Inserts a rollout to `toRevision` with `strategy`, planned against what runs now. */
export const planAndInsertRollout = async (
  tx: Db,
  workload: WorkloadRecord,
  targets: readonly Target[],
  toRevision: number,
  strategy: RolloutStrategy,
): Promise<RolloutRecord> => {
  const running = (await listBackends(tx, workload.id)).filter((b) => b.state === "running");
  const steps = planRollout({ targets, running, toRevision }, strategy, workload.stableRevision);
  const rollout = await insertRollout(tx, {
    workloadId: workload.id,
    fromRevision: workload.stableRevision,
    toRevision,
    strategy,
    steps,
  });
  await requestReconcile(tx, workload.id);
  await appendEvent(tx, {
    workloadId: workload.id,
    rolloutId: rollout.id,
    type: "rollout_started",
    message: `rollout to revision ${toRevision} started (${steps.length} steps)`,
    data: { fromRevision: workload.stableRevision, toRevision, strategy: strategy.type },
  });
  return rollout;
};

const revisionConfig = (
  spec: { image: string; port: number; healthCheck: WorkloadInput["healthCheck"] },
  sim: WorkloadInput["sim"],
): RevisionConfig => ({
  image: spec.image,
  port: spec.port,
  // Only the path is the container's business; how often the control plane probes it is not a new revision.
  healthCheck: { path: spec.healthCheck.path },
  sim: sim ?? null,
});

export interface WorkloadWithRollout {
  readonly workload: WorkloadRecord;
  readonly rollout: RolloutRecord | null;
}

/** Creates a workload and its first revision, and starts deploying it to every target. */
export const createWorkload = async (
  deps: CommandDeps,
  input: WorkloadInput,
): Promise<WorkloadWithRollout> => {
  checkRegions(deps.regions, input.targets);
  const config = revisionConfig(input, input.sim);
  const hash = await configHash(config);
  try {
    const result = await deps.sql.begin(async (tx) => {
      const created = await insertWorkload(tx, input);
      const revision = await insertRevision(tx, created.id, { ...config, configHash: hash });
      await appendEvent(tx, {
        workloadId: created.id,
        type: "workload_created",
        message: `workload ${input.name} created`,
      });
      const rollout = await planAndInsertRollout(tx, created, input.targets, revision.number, input.strategy);
      const workload = { ...created, image: revision.image, latestRevision: revision.number };
      return { workload, rollout };
    });
    deps.kick();
    return result;
  } catch (error) {
    if (isUniqueViolation(error, "workloads_live_name")) {
      throw new DevsimError("conflict", `workload '${input.name}' already exists`, {
        field: "name",
        name: input.name,
      });
    }
    throw error;
  }
};

/** Starts a rollout of a new image (and sim profile) with the workload's current spec. */
export const startRollout = async (
  deps: CommandDeps,
  name: string,
  input: RolloutInput,
): Promise<RolloutRecord> => {
  try {
    const rollout = await deps.sql.begin(async (tx) => {
      const workload = await lockWorkload(tx, name);
      if (!workload) throw notFound("workload", name);
      const active = await findActiveRollout(tx, workload.id);
      if (active) throw conflictWithActive(name, active);
      const config = revisionConfig({ ...workload, image: input.image }, input.sim);
      const revision = await insertRevision(tx, workload.id, {
        ...config,
        configHash: await configHash(config),
      });
      return planAndInsertRollout(
        tx,
        workload,
        workload.targets,
        revision.number,
        input.strategy ?? workload.strategy,
      );
    });
    deps.kick();
    return rollout;
  } catch (error) {
    if (isUniqueViolation(error, "rollouts_one_active")) {
      throw new DevsimError("conflict", `workload '${name}' already has a rollout in progress`, {
        workload: name,
      });
    }
    throw error;
  }
};

/**
 * Replaces a workload's spec. A new image, port, health check or sim profile makes a new revision;
 * that or a change of targets starts a rollout.
 */
export const updateWorkload = async (
  deps: CommandDeps,
  name: string,
  input: WorkloadUpdate,
): Promise<WorkloadWithRollout> => {
  checkRegions(deps.regions, input.targets);
  const result = await deps.sql.begin(async (tx) => {
    const workload = await lockWorkload(tx, name);
    if (!workload) throw notFound("workload", name);
    const active = await findActiveRollout(tx, workload.id);
    if (active) throw conflictWithActive(name, active);
    await updateWorkloadSpec(tx, workload.id, input);
    const config = revisionConfig(input, input.sim);
    const hash = await configHash(config);
    const current =
      workload.stableRevision === null ? null : await findRevision(tx, workload.id, workload.stableRevision);
    const sameTargets = JSON.stringify(workload.targets) === JSON.stringify(input.targets);
    let toRevision = current?.number ?? null;
    if (current === null || current.configHash !== hash) {
      toRevision = (await insertRevision(tx, workload.id, { ...config, configHash: hash })).number;
    }
    const updated = {
      ...workload,
      ...input,
      healthCheck: healthCheckSettings(input.healthCheck),
      failover: input.failover ?? DEFAULT_FAILOVER_POLICY,
      latestRevision: Math.max(workload.latestRevision, toRevision ?? 0),
    };
    if (toRevision === current?.number && sameTargets) return { workload: updated, rollout: null };
    const rollout = await planAndInsertRollout(tx, updated, input.targets, toRevision ?? 1, input.strategy);
    return { workload: updated, rollout };
  });
  if (result.rollout) deps.kick();
  return result;
};

/** Deletes a workload: traffic stops at once, and the reconciler removes its deployments. */
export const deleteWorkload = async (deps: CommandDeps, name: string): Promise<void> => {
  await deps.sql.begin(async (tx) => {
    const workload = await lockWorkload(tx, name);
    if (!workload) throw notFound("workload", name);
    const active = await findActiveRollout(tx, workload.id);
    if (active) await finishRollout(tx, active.id, active.version, "aborted", "workload deleted");
    await markAllBackendsRemoving(tx, workload.id, DEFAULT_DRAIN_MS);
    await markWorkloadDeleted(tx, workload.id);
    await appendEvent(tx, {
      workloadId: workload.id,
      type: "workload_deleted",
      message: `workload ${name} deleted`,
    });
  });
  await deps.routing.remove(name);
  deps.kick();
};
