import type { Rollout, RolloutStatus, RolloutStep, RolloutStrategy } from "#core";
import { type Db, iso, isoOrNull, jsonb } from "./db.ts";

interface RolloutRow {
  id: string;
  workload: string;
  workload_id: string;
  status: RolloutStatus;
  from_revision: number | null;
  to_revision: number;
  strategy: RolloutStrategy;
  steps: RolloutStep[];
  current_step: number;
  step_started_at: Date | null;
  progress_deadline_seconds: number;
  message: string | null;
  held_reason: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** A rollout with what only the reconciler needs. */
export interface RolloutRecord extends Rollout {
  readonly workloadId: string;
  readonly stepStartedAt: string | null;
  readonly progressDeadlineSeconds: number;
  /** Why the reconciler holds it where it is (its workload is degraded); null while it may advance. */
  readonly heldReason: string | null;
}

const toRollout = (r: RolloutRow): RolloutRecord => ({
  id: r.id,
  workload: r.workload,
  workloadId: r.workload_id,
  status: r.status,
  fromRevision: r.from_revision,
  toRevision: r.to_revision,
  strategy: r.strategy,
  steps: r.steps,
  currentStep: r.current_step,
  stepStartedAt: isoOrNull(r.step_started_at),
  progressDeadlineSeconds: r.progress_deadline_seconds,
  message: r.message,
  heldReason: r.held_reason,
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
  finishedAt: isoOrNull(r.finished_at),
});

const select = (db: Db) => db`
  SELECT r.id, w.name AS workload, r.workload_id, r.status, r.from_revision, r.to_revision, r.strategy, r.steps,
         r.current_step, r.step_started_at, r.progress_deadline_seconds, r.message, r.held_reason, r.version,
         r.created_at, r.updated_at, r.finished_at
  FROM rollouts r JOIN workloads w ON w.id = r.workload_id`;

export interface RolloutInsert {
  readonly workloadId: string;
  readonly fromRevision: number | null;
  readonly toRevision: number;
  readonly strategy: RolloutStrategy;
  readonly steps: readonly RolloutStep[];
}

/** Inserts a progressing rollout. Throws Postgres 23505 (rollouts_one_active) when one is in flight. */
export const insertRollout = async (db: Db, input: RolloutInsert): Promise<RolloutRecord> => {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO rollouts (workload_id, from_revision, to_revision, strategy, steps, status, progress_deadline_seconds)
    VALUES (${input.workloadId}, ${input.fromRevision}, ${input.toRevision}, ${jsonb(input.strategy)}::text::jsonb,
            ${jsonb(input.steps)}::text::jsonb, 'progressing', ${input.strategy.progressDeadlineSeconds})
    RETURNING id`;
  const created = row ? await findRollout(db, row.id) : null;
  if (!created) throw new Error("rollout vanished after insert");
  return created;
};

export const findRollout = async (db: Db, id: string): Promise<RolloutRecord | null> => {
  const [row] = await db<RolloutRow[]>`${select(db)} WHERE r.id = ${id}`;
  return row ? toRollout(row) : null;
};

export const findActiveRollout = async (db: Db, workloadId: string): Promise<RolloutRecord | null> => {
  const [row] = await db<RolloutRow[]>`
    ${select(db)} WHERE r.workload_id = ${workloadId} AND r.status IN ('progressing', 'paused')`;
  return row ? toRollout(row) : null;
};

export const listRollouts = async (db: Db, workloadId: string): Promise<RolloutRecord[]> => {
  const rows = await db<
    RolloutRow[]
  >`${select(db)} WHERE r.workload_id = ${workloadId} ORDER BY r.created_at DESC`;
  return rows.map(toRollout);
};

/**
 * Moves a rollout to its next step, only if nobody moved it since `version` was read: a transition
 * planned twice applies once. Returns whether it applied.
 */
export const advanceRollout = async (
  db: Db,
  id: string,
  version: number,
  nextStep: number,
): Promise<boolean> => {
  const rows = await db`
    UPDATE rollouts SET current_step = ${nextStep}, step_started_at = NULL, version = version + 1, updated_at = now()
    WHERE id = ${id} AND version = ${version} AND status = 'progressing'`;
  return rows.count === 1;
};

/** Records when the current step started waiting, once, so deadlines survive restarts. */
export const markStepStarted = async (db: Db, id: string, version: number): Promise<void> => {
  await db`UPDATE rollouts SET step_started_at = now() WHERE id = ${id} AND version = ${version} AND step_started_at IS NULL`;
};

/** Ends a rollout at `version`; returns whether it applied. */
export const finishRollout = async (
  db: Db,
  id: string,
  version: number,
  status: RolloutStatus,
  message: string | null,
): Promise<boolean> => {
  const rows = await db`
    UPDATE rollouts SET status = ${status}, message = ${message}, version = version + 1, updated_at = now(),
      finished_at = now(), held_reason = NULL
    WHERE id = ${id} AND version = ${version} AND status IN ('progressing', 'paused')`;
  return rows.count === 1;
};

/** Rollout counts by status, for metrics. */
export const countRolloutsByStatus = async (db: Db): Promise<Map<RolloutStatus, number>> => {
  const rows = await db<{ status: RolloutStatus; n: number }[]>`
    SELECT status, count(*)::int AS n FROM rollouts GROUP BY status`;
  return new Map(rows.map((r) => [r.status, r.n]));
};

/** Locks a rollout's row for the rest of the transaction and returns its status, so weight changes and aborts serialise. */
export const lockRolloutStatus = async (db: Db, id: string): Promise<RolloutStatus | null> =>
  (await lockRollout(db, id))?.status ?? null;

/** Locks a rollout's row for the rest of the transaction and reads it. */
export const lockRollout = async (db: Db, id: string): Promise<RolloutRecord | null> => {
  await db`SELECT 1 FROM rollouts WHERE id = ${id} FOR UPDATE`;
  return findRollout(db, id);
};

/** Sets the status of a rollout that is not finished (pause, resume); returns whether it applied. */
export const setRolloutStatus = async (
  db: Db,
  id: string,
  from: RolloutStatus,
  to: RolloutStatus,
  message: string | null,
): Promise<boolean> => {
  const rows = await db`
    UPDATE rollouts SET status = ${to}, message = ${message}, version = version + 1, updated_at = now()
    WHERE id = ${id} AND status = ${from}`;
  return rows.count === 1;
};

/** Moves a live rollout to step `to` whatever step it is on (promote); returns whether it applied. */
export const jumpToStep = async (db: Db, id: string, version: number, to: number): Promise<boolean> => {
  const rows = await db`
    UPDATE rollouts SET current_step = ${to}, step_started_at = NULL, status = 'progressing',
      version = version + 1, updated_at = now()
    WHERE id = ${id} AND version = ${version} AND status IN ('progressing', 'paused')`;
  return rows.count === 1;
};

/**
 * Holds a live rollout where it is, for `reason` (kept up to date while it holds); returns whether
 * the hold began now, so the caller records it once.
 */
export const holdRollout = async (db: Db, id: string, reason: string): Promise<boolean> => {
  const rows = await db<{ before: string | null }[]>`
    WITH before AS (SELECT held_reason FROM rollouts WHERE id = ${id})
    UPDATE rollouts SET held_reason = ${reason}, updated_at = now()
    WHERE id = ${id} AND held_reason IS DISTINCT FROM ${reason} AND status IN ('progressing', 'paused')
    RETURNING (SELECT held_reason FROM before) AS before`;
  return rows.length === 1 && rows[0]?.before === null;
};

/**
 * Lets a held rollout advance again; returns whether it was held. Its current step starts over,
 * so a pause or an analysis does not count the time spent degraded.
 */
export const releaseRollout = async (db: Db, id: string): Promise<boolean> => {
  const rows = await db`
    UPDATE rollouts SET held_reason = NULL, step_started_at = NULL, updated_at = now()
    WHERE id = ${id} AND held_reason IS NOT NULL`;
  return rows.count === 1;
};
