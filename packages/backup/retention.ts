/** How long backups are kept: the newest of each hour for a while, then the newest of each day. */
export interface RetentionPolicy {
  /** Keep the newest backup of each UTC hour for this many hours. */
  readonly hourlyForHours: number;
  /** Keep the newest backup of each UTC day for this many days. */
  readonly dailyForDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { hourlyForHours: 48, dailyForDays: 30 };

export interface DatedBackup {
  readonly id: string;
  readonly createdAt: Date;
}

export interface RetentionPlan {
  /** Ids to keep, newest first. */
  readonly keep: string[];
  /** Ids to delete, newest first. */
  readonly remove: string[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Decides which backups to keep at `now`: within `hourlyForHours` the newest of each UTC hour,
 * within `dailyForDays` the newest of each UTC day; everything else goes. The newest backup of
 * all is always kept, so that a schedule that stopped for a month never leaves nothing to
 * restore. A backup dated in the future (a clock ahead of ours) counts as within both windows.
 */
export const planRetention = (
  backups: readonly DatedBackup[],
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): RetentionPlan => {
  const newestFirst = [...backups].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
  const hours = new Set<number>();
  const days = new Set<number>();
  const keep: string[] = [];
  const remove: string[] = [];
  for (const [index, backup] of newestFirst.entries()) {
    const at = backup.createdAt.getTime();
    const age = now.getTime() - at;
    const hour = Math.floor(at / HOUR_MS);
    const day = Math.floor(at / DAY_MS);
    let kept = index === 0;
    if (age < policy.hourlyForHours * HOUR_MS && !hours.has(hour)) {
      hours.add(hour);
      kept = true;
    }
    if (age < policy.dailyForDays * DAY_MS && !days.has(day)) {
      days.add(day);
      kept = true;
    }
    (kept ? keep : remove).push(backup.id);
  }
  return { keep, remove };
};
