import { appendSystemEvent, connectDatabase, type Sql } from "#store";
import { latestBackup } from "./backups.ts";
import { qualifiedName, quoteQualified } from "./catalog.ts";
import type { Manifest } from "./manifest.ts";
import type { ProgressListener } from "./progress.ts";
import { restoreBackup } from "./restore.ts";
import { recordBackupRun } from "./runs.ts";
import type { ScratchFactory } from "./scratch.ts";
import type { BackupSink } from "./sink.ts";

export interface DrillOptions {
  /** The control plane: where the drill's outcome is recorded. */
  readonly sql: Sql;
  readonly sink: BackupSink;
  /** Makes the database the newest backup is restored into; the drill drops it afterwards. */
  readonly scratch: ScratchFactory;
  readonly onProgress?: ProgressListener;
  readonly now?: () => Date;
}

export interface TableCount {
  readonly table: string;
  readonly expected: number;
  readonly restored: number;
}

export interface DrillResult {
  readonly status: "succeeded" | "failed";
  /** The backup restored, or null when there was none. */
  readonly backupId: string | null;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** Rows counted in the restored database, beside the manifest's count, per table. */
  readonly tables: readonly TableCount[];
  readonly error: string | null;
}

/** Counts the rows of every table of the manifest in a database, independently of the restore. */
const countRows = async (url: string, manifest: Manifest): Promise<TableCount[]> => {
  const db = connectDatabase(url, { max: 1, applicationName: "devsim-drill" });
  try {
    const out: TableCount[] = [];
    for (const table of manifest.tables) {
      const [row] = await db.unsafe<{ n: string }[]>(
        `SELECT count(*)::text AS n FROM ${quoteQualified(table)}`,
      );
      out.push({ table: qualifiedName(table), expected: table.rows, restored: Number(row?.n ?? -1) });
    }
    return out;
  } finally {
    await db.end({ timeout: 5 });
  }
};

const record = async (db: Sql, result: DrillResult, rows: number): Promise<void> => {
  const ok = result.status === "succeeded";
  await db.begin(async (tx) => {
    await recordBackupRun(tx, {
      kind: "drill",
      backupId: result.backupId,
      status: result.status,
      startedAt: result.startedAt,
      durationMs: result.durationMs,
      rows,
      error: result.error,
    });
    await appendSystemEvent(tx, {
      type: ok ? "backup_drill_succeeded" : "backup_drill_failed",
      message: ok
        ? `restored backup ${result.backupId} into a scratch database: ${rows} rows, as the manifest says`
        : `restore drill failed: ${result.error}`,
      data: { backupId: result.backupId, durationMs: result.durationMs, tables: result.tables },
    });
  });
};

/**
 * The restore drill: restores the newest backup into a scratch database, counts every table's
 * rows there against the manifest, drops the scratch database, and records the outcome in
 * `backup_runs` (for the metrics) and as an event. A failed drill is a result, not an exception;
 * only recording it can throw.
 */
export const runRestoreDrill = async (options: DrillOptions): Promise<DrillResult> => {
  const startedAt = (options.now ?? (() => new Date()))();
  const started = performance.now();
  let backupId: string | null = null;
  let tables: TableCount[] = [];
  let error: string | null = null;
  try {
    const manifest = await latestBackup(options.sink);
    if (!manifest) throw new Error(`no backup to restore in ${options.sink.location}`);
    backupId = manifest.id;
    const scratch = await options.scratch();
    try {
      await restoreBackup({
        sink: options.sink,
        id: manifest.id,
        targetUrl: scratch.url,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      tables = await countRows(scratch.url, manifest);
    } finally {
      await scratch.drop();
    }
    const wrong = tables.filter((t) => t.restored !== t.expected);
    if (wrong.length > 0) {
      throw new Error(
        `row counts differ from the manifest: ${wrong.map((t) => `${t.table} ${t.restored}/${t.expected}`).join(", ")}`,
      );
    }
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
  }
  const result: DrillResult = {
    status: error === null ? "succeeded" : "failed",
    backupId,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    tables,
    error,
  };
  await record(
    options.sql,
    result,
    tables.reduce((sum, t) => sum + t.restored, 0),
  );
  return result;
};
