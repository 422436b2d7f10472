import { Cron } from "croner";
import { DevsimError, type Logger } from "#core";

/** One job of the in-process scheduler. */
export interface ScheduledJob {
  /** Unique among the scheduler's jobs; used in logs and status. */
  readonly name: string;
  /** A cron expression, with an optional leading seconds field (`30 * * * * *`); evaluated in UTC. */
  readonly schedule: string;
  /** One run. `signal` aborts when the scheduler stops; a rejection is logged and the job runs again next time. */
  readonly run: (signal: AbortSignal) => Promise<unknown>;
}

export interface SchedulerOptions {
  readonly jobs: readonly ScheduledJob[];
  readonly log: Logger;
  /** The clock of the status timestamps; `new Date()` by default. */
  readonly now?: () => Date;
}

export interface JobStatus {
  readonly name: string;
  readonly schedule: string;
  /** Whether a run is under way now. */
  readonly running: boolean;
  /** Runs started, failed, and skipped because the previous run was still going. */
  readonly runs: number;
  readonly failures: number;
  readonly skipped: number;
  readonly lastStart: Date | null;
  readonly lastEnd: Date | null;
  /** How the last finished run ended, or null before the first one ends. */
  readonly lastOutcome: "ok" | "error" | null;
  /** What the last successful run resolved to. */
  readonly lastResult: unknown;
  /** The message of the last failed run, kept after later successes. */
  readonly lastError: string | null;
  /** When the job is next due; null once the scheduler stopped. */
  readonly nextRun: Date | null;
}

export interface Scheduler {
  /** Stops triggering, aborts the signal of the runs under way and waits for them to settle. */
  stop(): Promise<void>;
  /** One entry per job, in the order they were given. */
  status(): JobStatus[];
}

interface Slot {
  readonly job: ScheduledJob;
  readonly cron: Cron;
  current: Promise<void> | undefined;
  runs: number;
  failures: number;
  skipped: number;
  lastStart: Date | null;
  lastEnd: Date | null;
  lastOutcome: "ok" | "error" | null;
  lastResult: unknown;
  lastError: string | null;
}

const TIMEZONE = "Etc/UTC";

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Checks every job before any starts, so a bad expression fails start-up and names its job. */
const checkJobs = (jobs: readonly ScheduledJob[]): void => {
  const seen = new Set<string>();
  for (const job of jobs) {
    if (job.name.trim() === "") throw new DevsimError("invalid_input", "a scheduled job needs a name", {});
    if (seen.has(job.name)) {
      throw new DevsimError("invalid_input", `two scheduled jobs are named '${job.name}'`, { job: job.name });
    }
    seen.add(job.name);
    try {
      new Cron(job.schedule, { paused: true, timezone: TIMEZONE }).stop();
    } catch (error) {
      throw new DevsimError(
        "invalid_input",
        `job '${job.name}': '${job.schedule}' is not a valid cron expression: ${messageOf(error)}`,
        { job: job.name, schedule: job.schedule },
        { cause: error },
      );
    }
  }
};

/**
 * Runs each job on its cron schedule in this process (croner keeps the time). A job never overlaps
 * itself: when it is due while its previous run is still going, that turn is skipped, counted and
 * logged. A failed run is logged and the job keeps its schedule.
 *
 * @example
 * const scheduler = startScheduler({ jobs: [{ name: "backup", schedule: "0 0 * * * *", run: takeBackup }], log })
 * await scheduler.stop()
 */
export const startScheduler = ({ jobs, log, now = () => new Date() }: SchedulerOptions): Scheduler => {
  checkJobs(jobs);
  const stopping = new AbortController();

  const fire = (slot: Slot): void => {
    const { job } = slot;
    if (stopping.signal.aborted) return;
    if (slot.current !== undefined) {
      slot.skipped++;
      log.warn({ job: job.name, skipped: slot.skipped }, "scheduled job still running; this turn is skipped");
      return;
    }
    slot.runs++;
    slot.lastStart = now();
    const started = performance.now();
    log.debug({ job: job.name }, "scheduled job started");
    slot.current = Promise.resolve()
      .then(() => job.run(stopping.signal))
      .then(
        (result) => {
          slot.lastOutcome = "ok";
          slot.lastResult = result;
          log.debug({ job: job.name, ms: Math.round(performance.now() - started) }, "scheduled job done");
        },
        (error: unknown) => {
          slot.failures++;
          slot.lastOutcome = "error";
          slot.lastError = messageOf(error);
          log.error({ job: job.name, err: error }, "scheduled job failed; it runs again at its next time");
        },
      )
      .finally(() => {
        slot.lastEnd = now();
        slot.current = undefined;
      });
  };

  const slots: Slot[] = jobs.map((job) => {
    const slot: Slot = {
      job,
      cron: new Cron(job.schedule, { paused: true, timezone: TIMEZONE }, () => fire(slot)),
      current: undefined,
      runs: 0,
      failures: 0,
      skipped: 0,
      lastStart: null,
      lastEnd: null,
      lastOutcome: null,
      lastResult: undefined,
      lastError: null,
    };
    return slot;
  });
  for (const slot of slots) slot.cron.resume();
  log.info({ jobs: jobs.map((j) => ({ name: j.name, schedule: j.schedule })) }, "scheduler started");

  let stopped: Promise<void> | undefined;
  return {
    stop: () => {
      stopped ??= (async () => {
        for (const slot of slots) slot.cron.stop();
        stopping.abort(new DevsimError("unavailable", "the scheduler is stopping"));
        await Promise.all(slots.map((slot) => slot.current));
      })();
      return stopped;
    },
    status: () =>
      slots.map((slot) => ({
        name: slot.job.name,
        schedule: slot.job.schedule,
        running: slot.current !== undefined,
        runs: slot.runs,
        failures: slot.failures,
        skipped: slot.skipped,
        lastStart: slot.lastStart,
        lastEnd: slot.lastEnd,
        lastOutcome: slot.lastOutcome,
        lastResult: slot.lastResult,
        lastError: slot.lastError,
        nextRun: slot.cron.nextRun(),
      })),
  };
};
