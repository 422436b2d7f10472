import type { Db } from "#store";
import { latestBackupRuns } from "./runs.ts";

interface Gauge {
  readonly name: string;
  readonly help: string;
  readonly value: number | null;
}

const seconds = (d: Date): number => d.getTime() / 1000;

/** Prometheus text exposition of gauges; a gauge without a value is declared with no sample. */
export const renderGauges = (gauges: readonly Gauge[]): string =>
  gauges
    .map(
      (g) =>
        `# HELP ${g.name} ${g.help}\n# TYPE ${g.name} gauge\n${g.value === null ? "" : `${g.name} ${g.value}\n`}`,
    )
    .join("");

/**
 * The backup gauges in Prometheus text format, read from `backup_runs` at scrape time, so they
 * are right whichever process took the backup or ran the drill. For /metrics to append.
 */
export const backupMetrics = async (db: Db): Promise<string> => {
  const { backup, lastBackupRun, drill } = await latestBackupRuns(db);
  return renderGauges([
    {
      name: "devsim_backup_last_success_timestamp_seconds",
      help: "When the snapshot of the newest successful backup was taken (Unix time)",
      value: backup ? seconds(backup.startedAt) : null,
    },
    {
      name: "devsim_backup_last_success_size_bytes",
      help: "Compressed size of the newest successful backup",
      value: backup?.sizeBytes ?? null,
    },
    {
      name: "devsim_backup_last_success_duration_seconds",
      help: "How long the newest successful backup took",
      value: backup ? backup.durationMs / 1000 : null,
    },
    {
      name: "devsim_backup_last_run_success",
      help: "1 if the newest backup run succeeded, 0 if it failed",
      value: lastBackupRun ? Number(lastBackupRun.status === "succeeded") : null,
    },
    {
      name: "devsim_backup_restore_drill_success",
      help: "1 if the newest restore drill restored the newest backup and found every row, 0 if not",
      value: drill ? Number(drill.status === "succeeded") : null,
    },
    {
      name: "devsim_backup_restore_drill_duration_seconds",
      help: "How long the newest restore drill took, restore and checks included",
      value: drill ? drill.durationMs / 1000 : null,
    },
    {
      name: "devsim_backup_restore_drill_timestamp_seconds",
      help: "When the newest restore drill started (Unix time)",
      value: drill ? seconds(drill.startedAt) : null,
    },
  ]);
};
