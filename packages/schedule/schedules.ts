/**
 * When each scheduled job runs: `local` is a croner expression for the in-process scheduler (seconds
 * allowed), `deployed` an EventBridge schedule expression for the SST Cron of production
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
 * EventBridge cannot fire more often than once a minute, so the deployed health function runs every
 * minute and probes in a loop inside; locally each probe pass is its own run.
 */
export interface ScheduleSpec {
  readonly local: string;
  readonly deployed: string;
}

/**
 * Seconds between two health passes in the in-process scheduler: a pass probes only the workloads
 * whose own interval is due, so passing every second costs one query and honours intervals of 1 s.
 */
export const LOCAL_HEALTH_INTERVAL_SECONDS = 1;

/** The one place the schedules of health, backup and the restore drill are written down. */
export const DEFAULT_SCHEDULES = {
  health: { local: `*/${LOCAL_HEALTH_INTERVAL_SECONDS} * * * * *`, deployed: "rate(1 minute)" },
  backup: { local: "0 0 * * * *", deployed: "rate(1 hour)" },
  // 03:30 UTC, clear of the hourly backup on the hour.
  restoreDrill: { local: "0 30 3 * * *", deployed: "cron(30 3 * * ? *)" },
} as const satisfies Readonly<Record<string, ScheduleSpec>>;
