import type { Db } from "#store";

export type BackupRunKind = "backup" | "drill";
export type BackupRunStatus = "succeeded" | "failed";

/** One backup taken or one restore drill run, as `backup_runs` keeps it. */
export interface BackupRun {
  readonly kind: BackupRunKind;
  readonly backupId: string | null;
  readonly status: BackupRunStatus;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly sizeBytes?: number | null;
  readonly rows?: number | null;
  readonly error?: string | null;
}

export const recordBackupRun = async (db: Db, run: BackupRun): Promise<void> => {
  await db`
    INSERT INTO backup_runs (kind, backup_id, status, started_at, duration_ms, size_bytes, row_count, error)
    VALUES (${run.kind}, ${run.backupId}, ${run.status}, ${run.startedAt}, ${Math.round(run.durationMs)},
            ${run.sizeBytes ?? null}, ${run.rows ?? null}, ${run.error ?? null})`;
};

interface RunRow {
  kind: BackupRunKind;
  backup_id: string | null;
  status: BackupRunStatus;
  started_at: Date;
  duration_ms: number;
  size_bytes: string | null;
  row_count: string | null;
  error: string | null;
}

const toRun = (r: RunRow): BackupRun => ({
  kind: r.kind,
  backupId: r.backup_id,
  status: r.status,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
  rows: r.row_count === null ? null : Number(r.row_count),
  error: r.error,
});

export interface LatestRuns {
  /** The newest successful backup. */
  readonly backup: BackupRun | null;
  /** The newest backup run, successful or not. */
  readonly lastBackupRun: BackupRun | null;
  /** The newest restore drill, successful or not. */
  readonly drill: BackupRun | null;
}

/** The runs the backup metrics describe, in one query. */
export const latestBackupRuns = async (db: Db): Promise<LatestRuns> => {
  const rows = await db<RunRow[]>`
    SELECT DISTINCT ON (kind, status) kind, backup_id, status, started_at, duration_ms,
           size_bytes::text, row_count::text, error
    FROM backup_runs ORDER BY kind, status, started_at DESC, id DESC`;
  const runs = rows.map(toRun);
  const newest = (kind: BackupRunKind) =>
    runs.filter((r) => r.kind === kind).sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime())[0] ??
    null;
  return {
    backup: runs.find((r) => r.kind === "backup" && r.status === "succeeded") ?? null,
    lastBackupRun: newest("backup"),
    drill: newest("drill"),
  };
};
