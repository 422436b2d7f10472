import pino from "pino";
import { openSink, runScheduledBackup } from "#backup";
import { backupRetention, backupSinkConfig, readDeployedBackupEnv } from "#config";
import { connectDatabase } from "#store";

const env = readDeployedBackupEnv(process.env);
const log = pino({ level: env.LOG_LEVEL });
const sql = connectDatabase(env.DATABASE_URL, { max: 1, applicationName: "devsim-backup" });
const sink = openSink(backupSinkConfig(env));
const retention = backupRetention(env);

/** Scheduled hourly: takes a backup into the configured sink, then applies the retention policy. */
export const handler = async (): Promise<{ id: string; rows: number; bytes: number; deleted: number }> => {
  const { manifest, pruned } = await runScheduledBackup({ sql, sink, retention });
  const summary = {
    id: manifest.id,
    rows: manifest.totalRows,
    bytes: manifest.archive.bytes,
    deleted: pruned?.deleted.length ?? 0,
  };
  log.info({ ...summary, sink: sink.location, durationMs: manifest.durationMs }, "backup taken");
  return summary;
};
