import type { HealthCheck, Revision, SimProfile } from "#core";
import { type Db, iso, jsonb } from "./db.ts";

interface RevisionRow {
  workload: string;
  number: number;
  image: string;
  port: number;
  health_check: HealthCheck;
  config_hash: string;
  sim: SimProfile | null;
  created_at: Date;
}

const toRevision = (r: RevisionRow): Revision => ({
  workload: r.workload,
  number: r.number,
  image: r.image,
  port: r.port,
  healthCheck: r.health_check,
  configHash: r.config_hash,
  sim: r.sim,
  createdAt: iso(r.created_at),
});

export interface RevisionInput {
  readonly image: string;
  readonly port: number;
  readonly healthCheck: HealthCheck;
  readonly configHash: string;
  readonly sim: SimProfile | null;
}

/** Appends the workload's next revision; numbers grow by one per workload, under the workload's row lock. */
export const insertRevision = async (db: Db, workloadId: string, input: RevisionInput): Promise<Revision> => {
  const [row] = await db<RevisionRow[]>`
    WITH next AS (
      UPDATE workloads SET latest_revision = latest_revision + 1, updated_at = now()
      WHERE id = ${workloadId} RETURNING latest_revision, name
    )
    INSERT INTO revisions (workload_id, number, image, port, health_check, config_hash, sim)
    SELECT ${workloadId}, next.latest_revision, ${input.image}, ${input.port}, ${jsonb(input.healthCheck)}::text::jsonb,
           ${input.configHash}, ${jsonb(input.sim)}::text::jsonb
    FROM next
    RETURNING (SELECT name FROM next) AS workload, number, image, port, health_check, config_hash, sim, created_at`;
  if (!row) throw new Error(`no workload ${workloadId} to add a revision to`);
  return toRevision(row);
};

export const findRevision = async (db: Db, workloadId: string, number: number): Promise<Revision | null> => {
  const [row] = await db<RevisionRow[]>`
    SELECT w.name AS workload, r.number, r.image, r.port, r.health_check, r.config_hash, r.sim, r.created_at
    FROM revisions r JOIN workloads w ON w.id = r.workload_id
    WHERE r.workload_id = ${workloadId} AND r.number = ${number}`;
  return row ? toRevision(row) : null;
};

export const listRevisions = async (db: Db, workloadId: string): Promise<Revision[]> => {
  const rows = await db<RevisionRow[]>`
    SELECT w.name AS workload, r.number, r.image, r.port, r.health_check, r.config_hash, r.sim, r.created_at
    FROM revisions r JOIN workloads w ON w.id = r.workload_id
    WHERE r.workload_id = ${workloadId} ORDER BY r.number`;
  return rows.map(toRevision);
};
