import type { Sql } from "#store";
import { type PruneResult, pruneBackups } from "./backups.ts";
import { createBackup } from "./dump.ts";
import type { Manifest } from "./manifest.ts";
import type { ProgressListener } from "./progress.ts";
import { DEFAULT_RETENTION, type RetentionPolicy } from "./retention.ts";
import { recordBackupRun } from "./runs.ts";
import type { BackupSink } from "./sink.ts";

export interface ScheduledBackupOptions {
  readonly sql: Sql;
  readonly sink: BackupSink;
  /** Applied to the sink after the backup; null keeps every backup (a backup taken by hand). */
  readonly retention?: RetentionPolicy | null;
  readonly onProgress?: ProgressListener;
  readonly now?: () => Date;
}

export interface ScheduledBackupResult {
  readonly manifest: Manifest;
  /** What retention kept and deleted; null when no policy was applied. */
  readonly pruned: PruneResult | null;
}

/**
 * What the backup schedule (and `devsim backup create`) runs: takes a backup into the sink,
 * records the run in `backup_runs` (a failed one too, then rethrows), and applies the retention
 * policy to the sink.
 */
export const runScheduledBackup = async (options: ScheduledBackupOptions): Promise<ScheduledBackupResult> => {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const started = performance.now();
  let manifest: Manifest;
  try {
    manifest = await createBackup({
      sql: options.sql,
      sink: options.sink,
      now: () => startedAt,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    await recordBackupRun(options.sql, {
      kind: "backup",
      backupId: null,
      status: "failed",
      startedAt,
      durationMs: performance.now() - started,
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
  await recordBackupRun(options.sql, {
    kind: "backup",
    backupId: manifest.id,
    status: "succeeded",
    startedAt,
    durationMs: performance.now() - started,
    sizeBytes: manifest.archive.bytes,
    rows: manifest.totalRows,
  });
  const policy = options.retention === undefined ? DEFAULT_RETENTION : options.retention;
  const pruned = policy === null ? null : await pruneBackups(options.sink, now(), policy);
  return { manifest, pruned };
};
