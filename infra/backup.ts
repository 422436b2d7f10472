import { DEFAULT_SCHEDULES } from "../packages/schedule/schedules.ts";
import { controlPlaneEnvironment } from "./secrets";

/** Where backups go: linking grants the functions access to it. https://sst.dev/docs/component/aws/bucket */
export const backupBucket = new sst.aws.Bucket("Backups");

const backupEnvironment = { ...controlPlaneEnvironment, DEVSIM_BACKUP_BUCKET: backupBucket.name };

/** A logical dump of the control-plane database every hour; retention prunes old ones. */
export const backup = new sst.aws.Cron("Backup", {
  schedule: DEFAULT_SCHEDULES.backup.deployed,
  function: {
    handler: "functions/backup.handler",
    runtime: "nodejs24.x",
    timeout: "15 minutes",
    memory: "1024 MB",
    link: [backupBucket],
    environment: backupEnvironment,
  },
});

/** Once a day, restores the newest backup into a scratch database and reports how it went. */
export const restoreDrill = new sst.aws.Cron("RestoreDrill", {
  schedule: DEFAULT_SCHEDULES.restoreDrill.deployed,
  function: {
    handler: "functions/restore-drill.handler",
    runtime: "nodejs24.x",
    timeout: "15 minutes",
    memory: "1024 MB",
    link: [backupBucket],
    environment: backupEnvironment,
  },
});
