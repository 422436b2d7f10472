import pino from "pino";
import { openSink, runRestoreDrill, scratchOnServer } from "#backup";
import { backupSinkConfig, readDeployedBackupEnv } from "#config";
import { connectDatabase } from "#store";

const env = readDeployedBackupEnv(process.env);
const log = pino({ level: env.LOG_LEVEL });
const sql = connectDatabase(env.DATABASE_URL, { max: 1, applicationName: "devsim-drill" });
const sink = openSink(backupSinkConfig(env));
const scratch = scratchOnServer(env.DEVSIM_BACKUP_DRILL_DATABASE_URL ?? env.DATABASE_URL);

/**
 * Scheduled daily: restores the newest backup into a scratch database and records the outcome.
 * A failed drill fails the invocation too, so the platform's error alarms see it.
 */
export const handler = async (): Promise<{ backupId: string | null; durationMs: number }> => {
  const result = await runRestoreDrill({ sql, sink, scratch });
  const summary = { backupId: result.backupId, durationMs: result.durationMs };
  if (result.status === "failed") {
    log.error({ ...summary, error: result.error }, "restore drill failed");
    throw new Error(`restore drill failed: ${result.error}`);
  }
  log.info(summary, "restore drill succeeded");
  return summary;
};
