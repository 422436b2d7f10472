import {
  DEFAULT_FAILOVER_POLICY,
  FailoverPolicy,
  type HealthCheck,
  healthCheckSettings,
  type RolloutStrategy,
  type Target,
  type Workload,
} from "#core";
import { type Db, iso, isoOrNull, jsonb } from "./db.ts";

interface WorkloadRow {
  id: string;
  name: string;
  project: string;
  port: number;
  image: string | null;
  health_check: HealthCheck;
  targets: Target[];
  strategy: RolloutStrategy;
  failover: unknown;
  stable_revision: number | null;
  latest_revision: number;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** A workload as the reconciler sees it: deleted ones are still torn down. */
export interface WorkloadRecord extends Workload {
  readonly deletedAt: string | null;
}

const toWorkload = (r: WorkloadRow): WorkloadRecord => ({
  id: r.id,
  name: r.name,
  project: r.project,
  port: r.port,
  image: r.image ?? "",
  // Rows written before the health check had tuning fields read with the defaults.
  healthCheck: healthCheckSettings(r.health_check),
  targets: r.targets,
  strategy: r.strategy,
  failover: r.failover === null ? DEFAULT_FAILOVER_POLICY : FailoverPolicy.parse(r.failover),
  stableRevision: r.stable_revision,
  latestRevision: r.latest_revision,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
  deletedAt: isoOrNull(r.deleted_at),
});

const columns = (db: Db) => db`
  w.id, w.name, p.name AS project, w.port, w.health_check,
  (SELECT image FROM revisions r WHERE r.workload_id = w.id AND r.number = w.latest_revision) AS image, w.targets, w.strategy, w.failover,
  w.stable_revision, w.latest_revision, w.created_at, w.updated_at, w.deleted_at`;

export interface WorkloadSpec {
  readonly name: string;
  readonly project: string;
  readonly port: number;
  readonly healthCheck: HealthCheck;
  readonly targets: readonly Target[];
  readonly strategy: RolloutStrategy;
  /** Absent: the default policy. */
  readonly failover?: FailoverPolicy | undefined;
}

/** Inserts a live workload, creating its project on first use. Throws Postgres 23505 on a taken name. */
export const insertWorkload = async (db: Db, spec: WorkloadSpec): Promise<WorkloadRecord> => {
  await db`INSERT INTO projects (name) VALUES (${spec.project}) ON CONFLICT (name) DO NOTHING`;
  const [row] = await db<{ id: string }[]>`
    INSERT INTO workloads (project_id, name, port, health_check, targets, strategy, failover)
    SELECT id, ${spec.name}, ${spec.port}, ${jsonb(spec.healthCheck)}::text::jsonb, ${jsonb(spec.targets)}::text::jsonb,
           ${jsonb(spec.strategy)}::text::jsonb, ${jsonb(spec.failover ?? null)}::text::jsonb
    FROM projects WHERE name = ${spec.project}
    RETURNING id`;
  const created = row ? await findWorkloadById(db, row.id) : null;
  if (!created) throw new Error(`workload ${spec.name} vanished after insert`);
  return created;
};

export const findWorkload = async (db: Db, name: string): Promise<WorkloadRecord | null> => {
  const [row] = await db<WorkloadRow[]>`
    SELECT ${columns(db)} FROM workloads w JOIN projects p ON p.id = w.project_id
    WHERE w.name = ${name} AND w.deleted_at IS NULL`;
  return row ? toWorkload(row) : null;
};

/** Finds a workload by id, deleted or not: the reconciler still tears down deleted ones. */
export const findWorkloadById = async (db: Db, id: string): Promise<WorkloadRecord | null> => {
  const [row] = await db<WorkloadRow[]>`
    SELECT ${columns(db)} FROM workloads w JOIN projects p ON p.id = w.project_id WHERE w.id = ${id}`;
  return row ? toWorkload(row) : null;
};

/** Locks a live workload's row for the rest of the transaction, so spec changes serialise. */
export const lockWorkload = async (db: Db, name: string): Promise<WorkloadRecord | null> => {
  const [row] = await db<WorkloadRow[]>`
    SELECT ${columns(db)} FROM workloads w JOIN projects p ON p.id = w.project_id
    WHERE w.name = ${name} AND w.deleted_at IS NULL FOR UPDATE OF w`;
  return row ? toWorkload(row) : null;
};

export const listWorkloads = async (db: Db): Promise<WorkloadRecord[]> => {
  const rows = await db<WorkloadRow[]>`
    SELECT ${columns(db)} FROM workloads w JOIN projects p ON p.id = w.project_id
    WHERE w.deleted_at IS NULL ORDER BY w.name`;
  return rows.map(toWorkload);
};

/**
 * Replaces a workload's spec. The routing version moves with it, since the failover policy and the
 * targets' order shape the weights of a workload that is failed over.
 */
export const updateWorkloadSpec = async (
  db: Db,
  id: string,
  spec: Pick<WorkloadSpec, "port" | "healthCheck" | "targets" | "strategy" | "failover">,
): Promise<void> => {
  await db`
    UPDATE workloads SET port = ${spec.port}, health_check = ${jsonb(spec.healthCheck)}::text::jsonb,
      targets = ${jsonb(spec.targets)}::text::jsonb, strategy = ${jsonb(spec.strategy)}::text::jsonb,
      failover = ${jsonb(spec.failover ?? null)}::text::jsonb, routing_version = routing_version + 1, updated_at = now()
    WHERE id = ${id}`;
};

export const setStableRevision = async (db: Db, id: string, revision: number): Promise<void> => {
  await db`UPDATE workloads SET stable_revision = ${revision}, updated_at = now() WHERE id = ${id}`;
};

/** Marks a workload deleted: its name is free at once, and the reconciler removes what it ran. */
export const markWorkloadDeleted = async (db: Db, id: string): Promise<void> => {
  await db`UPDATE workloads SET deleted_at = now(), updated_at = now(), next_reconcile_at = now() WHERE id = ${id}`;
};

/** Asks the reconciler to look at a workload now. */
export const requestReconcile = async (db: Db, id: string): Promise<void> => {
  await db`UPDATE workloads SET next_reconcile_at = now() WHERE id = ${id}`;
};

/** Whether a workload of this name ever existed, deleted or not. */
export const workloadNameEverUsed = async (db: Db, name: string): Promise<boolean> => {
  const rows = await db`SELECT 1 FROM workloads WHERE name = ${name} LIMIT 1`;
  return rows.length > 0;
};
