import { Cron } from "croner";
import { afterAll, describe, expect, it, vi } from "vitest";
import { DevsimError, type Logger } from "#core";
import { recordingLogger } from "../../test/support/recording-logger.ts";
import { type ScheduledJob, type Scheduler, startScheduler } from "./scheduler.ts";
import { DEFAULT_SCHEDULES } from "./schedules.ts";

const EVERY_SECOND = "* * * * * *";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const started: Scheduler[] = [];
const start = (jobs: ScheduledJob[], log: Logger = recordingLogger(), now?: () => Date): Scheduler => {
  const scheduler = startScheduler(now ? { jobs, log, now } : { jobs, log });
  started.push(scheduler);
  return scheduler;
};
// Tests run concurrently, so schedulers are stopped once all are done, pass or fail.
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

describe("startScheduler", () => {
  it.concurrent("runs a job on its schedule and reports each run", async () => {
    let calls = 0;
    const clock = new Date("2030-01-01T00:00:00Z");
    const scheduler = start(
      [{ name: "tick", schedule: EVERY_SECOND, run: async () => ++calls }],
      recordingLogger(),
      () => clock,
    );
    const [before] = scheduler.status();
    expect(before).toMatchObject({ name: "tick", schedule: EVERY_SECOND, runs: 0, lastStart: null });
    expect(before?.nextRun?.getTime()).toBeGreaterThan(Date.now() - 1);
    expect(before?.nextRun?.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);

    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(2), { timeout: 4_000, interval: 50 });
    const [after] = scheduler.status();
    expect(after).toMatchObject({ runs: calls, failures: 0, skipped: 0, lastOutcome: "ok", lastError: null });
    expect(after?.lastResult).toBeGreaterThanOrEqual(1);
    expect(after?.lastStart).toEqual(clock);
    expect(after?.lastEnd).toEqual(clock);
  });

  it.concurrent("never overlaps a job with itself: a turn due while it runs is skipped and counted", async () => {
    let active = 0;
    let maxActive = 0;
    const log = recordingLogger();
    const scheduler = start(
      [
        {
          name: "slow",
          schedule: EVERY_SECOND,
          run: async () => {
            active++;
            maxActive = Math.max(maxActive, active);
            await sleep(2_200);
            active--;
          },
        },
      ],
      log,
    );
    await vi.waitFor(() => expect(scheduler.status()[0]?.skipped).toBeGreaterThanOrEqual(2), {
      timeout: 6_000,
      interval: 50,
    });
    expect(maxActive).toBe(1);
    expect(scheduler.status()[0]?.runs).toBe(1);
    expect(log.lines.filter((e) => e.level === "warn" && e.obj.job === "slow").length).toBeGreaterThanOrEqual(
      2,
    );
  });

  it.concurrent("logs a job that throws and runs it again at its next time", async () => {
    let calls = 0;
    const log = recordingLogger();
    const scheduler = start(
      [
        {
          name: "flaky",
          schedule: EVERY_SECOND,
          run: async () => {
            calls++;
            if (calls === 1) throw new Error("database is down");
            return "fine";
          },
        },
      ],
      log,
    );
    await vi.waitFor(() => expect(scheduler.status()[0]?.failures).toBe(1), { timeout: 3_000, interval: 50 });
    expect(scheduler.status()[0]).toMatchObject({ lastOutcome: "error", lastError: "database is down" });
    const failure = log.lines.find((e) => e.level === "error");
    expect(failure?.obj.job).toBe("flaky");

    await vi.waitFor(() => expect(scheduler.status()[0]?.lastOutcome).toBe("ok"), {
      timeout: 3_000,
      interval: 50,
    });
    expect(scheduler.status()[0]).toMatchObject({
      failures: 1,
      lastResult: "fine",
      lastError: "database is down",
    });
  });

  it.concurrent("survives a job that throws synchronously", async () => {
    let calls = 0;
    const run = (): Promise<unknown> => {
      calls++;
      throw new Error("thrown before any promise");
    };
    const scheduler = start([{ name: "sync", schedule: EVERY_SECOND, run }]);
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(2), { timeout: 4_000, interval: 50 });
    expect(scheduler.status()[0]?.failures).toBeGreaterThanOrEqual(1);
  });

  it.concurrent("stop aborts the signal of a running job, waits for it, and triggers nothing more", async () => {
    let runs = 0;
    let aborted = false;
    let settled = false;
    const scheduler = start([
      {
        name: "long",
        schedule: EVERY_SECOND,
        run: async (signal) => {
          runs++;
          await new Promise<void>((resolve) =>
            signal.addEventListener("abort", () => resolve(), { once: true }),
          );
          aborted = signal.aborted;
          await sleep(100);
          settled = true;
        },
      },
    ]);
    await vi.waitFor(() => expect(scheduler.status()[0]?.running).toBe(true), {
      timeout: 3_000,
      interval: 20,
    });
    await scheduler.stop();
    expect(aborted).toBe(true);
    expect(settled).toBe(true);
    expect(scheduler.status()[0]).toMatchObject({
      running: false,
      nextRun: null,
      runs: 1,
      lastOutcome: "ok",
    });
    await sleep(1_300);
    expect(runs).toBe(1);
    await scheduler.stop();
  });

  it("rejects an invalid cron expression at start, naming the job, and starts no job", async () => {
    let ran = false;
    const jobs: ScheduledJob[] = [
      {
        name: "fine",
        schedule: EVERY_SECOND,
        run: async () => {
          ran = true;
        },
      },
      { name: "broken", schedule: "61 * * * *", run: async () => {} },
    ];
    let error: unknown;
    try {
      start(jobs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DevsimError);
    expect(error).toMatchObject({
      code: "invalid_input",
      details: { job: "broken", schedule: "61 * * * *" },
    });
    expect((error as DevsimError).message).toContain("job 'broken'");
    await sleep(1_200);
    expect(ran).toBe(false);
  });

  it.each([["rate(1 minute)"], ["* * * *"], [""]])("rejects %j, which is no cron expression", (schedule) => {
    expect(() =>
      startScheduler({ jobs: [{ name: "x", schedule, run: async () => {} }], log: recordingLogger() }),
    ).toThrow(/job 'x'/);
  });

  it("rejects two jobs of the same name and a job without a name", () => {
    const run = async () => {};
    const log = recordingLogger();
    expect(() =>
      startScheduler({
        jobs: [
          { name: "a", schedule: EVERY_SECOND, run },
          { name: "a", schedule: EVERY_SECOND, run },
        ],
        log,
      }),
    ).toThrow(/two scheduled jobs are named 'a'/);
    expect(() => startScheduler({ jobs: [{ name: " ", schedule: EVERY_SECOND, run }], log })).toThrow(
      /needs a name/,
    );
  });
});

describe("DEFAULT_SCHEDULES", () => {
  it.each(Object.entries(DEFAULT_SCHEDULES))("%s has a local expression croner accepts", (_name, spec) => {
    expect(() => new Cron(spec.local, { paused: true }).stop()).not.toThrow();
  });

  it.each(Object.entries(DEFAULT_SCHEDULES))("%s has a deployed EventBridge expression", (_name, spec) => {
    expect(spec.deployed).toMatch(/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/);
  });

  it("runs health every few seconds locally, backups hourly and the restore drill daily", () => {
    const gaps = (expression: string) => {
      const [a, b] = new Cron(expression, { paused: true, timezone: "Etc/UTC" }).nextRuns(2);
      return (b?.getTime() ?? 0) - (a?.getTime() ?? 0);
    };
    expect(gaps(DEFAULT_SCHEDULES.health.local)).toBeLessThanOrEqual(10_000);
    expect(gaps(DEFAULT_SCHEDULES.backup.local)).toBe(3_600_000);
    expect(gaps(DEFAULT_SCHEDULES.restoreDrill.local)).toBe(86_400_000);
  });
});
