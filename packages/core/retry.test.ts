import { describe, expect, it } from "vitest";
import { AdapterError } from "./errors.ts";
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  type RetryOptions,
  retry,
  retryAfterMs,
  retryCloudCall,
} from "./retry.ts";

class Flaky extends Error {
  readonly afterMs: number | undefined;
  constructor(afterMs?: number) {
    super("flaky");
    this.afterMs = afterMs;
  }
}

/** A clock that only moves when the retry loop sleeps, and a record of every sleep. */
const virtualTime = () => {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
};

const retryFlaky = (
  over: Partial<RetryOptions> = {},
): Pick<RetryOptions, "retryable"> & Partial<RetryOptions> => ({
  retryable: (e) => (e instanceof Flaky ? { retry: true, afterMs: e.afterMs } : { retry: false }),
  random: () => 1,
  ...over,
});

/** Fails `failures` times with `error`, then answers "ok"; counts the calls. */
const failing = (failures: number, error: () => Error = () => new Flaky()) => {
  const calls: number[] = [];
  return {
    calls,
    fn: async (attempt: number) => {
      calls.push(attempt);
      if (calls.length <= failures) throw error();
      return "ok";
    },
  };
};

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );

describe("backoffMs", () => {
  it("doubles the ceiling per retry up to maxMs, scaled by the random draw", () => {
    const budget = { baseMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, budget, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffMs(3, budget, () => 0.5)).toBe(200);
    expect(backoffMs(3, budget, () => 0)).toBe(0);
  });
});

describe("retry", () => {
  it("returns the first success without waiting", async () => {
    const clock = virtualTime();
    const { fn, calls } = failing(0);
    expect(await retry(fn, retryFlaky(clock))).toBe("ok");
    expect(calls).toEqual([1]);
    expect(clock.sleeps).toEqual([]);
  });

  it("retries retryable failures with full-jitter exponential backoff", async () => {
    const clock = virtualTime();
    const draws = [0.5, 0.25, 1];
    const { fn, calls } = failing(3);
    const result = await retry(
      fn,
      retryFlaky({ ...clock, baseMs: 100, maxMs: 10_000, random: () => draws.shift() ?? 0 }),
    );
    expect(result).toBe("ok");
    expect(calls).toEqual([1, 2, 3, 4]);
    expect(clock.sleeps).toEqual([50, 50, 400]);
  });

  it("throws the last error once the attempts run out", async () => {
    const clock = virtualTime();
    let n = 0;
    const error = await rejection(
      retry(
        async () => {
          n += 1;
          throw new Flaky(n);
        },
        retryFlaky({ ...clock, attempts: 3 }),
      ),
    );
    expect(error).toBeInstanceOf(Flaky);
    expect(error).toMatchObject({ afterMs: 3 });
    expect(clock.sleeps).toHaveLength(2);
  });

  it("does not retry what retryable refuses", async () => {
    const clock = virtualTime();
    const { fn, calls } = failing(1, () => new TypeError("bad request"));
    expect(await rejection(retry(fn, retryFlaky(clock)))).toBeInstanceOf(TypeError);
    expect(calls).toEqual([1]);
    expect(clock.sleeps).toEqual([]);
  });

  it("waits what Retry-After asked instead of the backoff", async () => {
    const clock = virtualTime();
    const { fn } = failing(2, () => new Flaky(1_500));
    expect(await retry(fn, retryFlaky({ ...clock, maxMs: 100 }))).toBe("ok");
    expect(clock.sleeps).toEqual([1_500, 1_500]);
  });

  it("gives up at once when Retry-After is longer than the budget left", async () => {
    const clock = virtualTime();
    const { fn, calls } = failing(5, () => new Flaky(4_000));
    expect(await rejection(retry(fn, retryFlaky({ ...clock, budgetMs: 10_000 })))).toBeInstanceOf(Flaky);
    // 0 → 4 s → 8 s; a third wait would start the next attempt at 12 s, past the budget.
    expect(calls).toEqual([1, 2, 3]);
    expect(clock.sleeps).toEqual([4_000, 4_000]);
  });

  it("counts the attempts' own time against the budget", async () => {
    const clock = virtualTime();
    const calls: number[] = [];
    const slow = async (attempt: number) => {
      calls.push(attempt);
      clock.advance(4_000);
      throw new Flaky();
    };
    await rejection(retry(slow, retryFlaky({ ...clock, budgetMs: 10_000, baseMs: 100 })));
    // Attempts start at 0, ~4.1 s and ~8.3 s; the fourth could not start before 12 s.
    expect(calls).toEqual([1, 2, 3]);
  });

  it("reports each retry before waiting", async () => {
    const clock = virtualTime();
    const events: unknown[] = [];
    const { fn } = failing(2);
    await retry(fn, retryFlaky({ ...clock, baseMs: 10, onRetry: (e) => events.push(e) }));
    expect(events).toEqual([
      { attempt: 1, delayMs: 10, error: expect.any(Flaky) },
      { attempt: 2, delayMs: 20, error: expect.any(Flaky) },
    ]);
  });

  it("defaults to 5 attempts within 10 s", async () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ attempts: 5, budgetMs: 10_000, baseMs: 100, maxMs: 2_000 });
    const clock = virtualTime();
    const { fn, calls } = failing(10);
    await rejection(retry(fn, retryFlaky(clock)));
    expect(calls).toEqual([1, 2, 3, 4, 5]);
  });

  it("sleeps for real by default", async () => {
    const { fn } = failing(1);
    const started = performance.now();
    expect(await retry(fn, retryFlaky({ baseMs: 40 }))).toBe("ok");
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it("rejects a bad budget", async () => {
    await expect(retry(async () => "ok", retryFlaky({ attempts: 0 }))).rejects.toThrow(/attempts/);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");

  it.each([
    ["7", 7_000],
    [" 0 ", 0],
    ["120", 120_000],
    ["Sun, 01 Mar 2026 12:00:30 GMT", 30_000],
    ["Sun, 01 Mar 2026 11:00:00 GMT", 0],
  ])("reads %j as %d ms", (value, ms) => {
    expect(retryAfterMs(value, now)).toBe(ms);
  });

  it.each([null, undefined, "", "-1", "1.5", "soon", "Xyz, 99 Foo 2026"])("ignores %j", (value) => {
    expect(retryAfterMs(value, now)).toBeUndefined();
  });
});

describe("retryCloudCall", () => {
  const throttled = () => new AdapterError("throttled", "aws", "aws ecs: slow down", { requestId: "r-1" });
  const retryable = (e: unknown) => ({ retry: e instanceof AdapterError && e.retryable });

  it("says after how many attempts and how long it gave up, keeping the failure and request id", async () => {
    const time = virtualTime();
    const error: unknown = await retryCloudCall(
      async () => {
        throw throttled();
      },
      { retryable, attempts: 3, baseMs: 100, maxMs: 100, random: () => 1, ...time },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    const given = error as AdapterError;
    expect(given.message).toBe("aws ecs: slow down (gave up after 3 attempts in 200 ms)");
    expect([given.failure, given.cloud, given.requestId]).toEqual(["throttled", "aws", "r-1"]);
  });

  it("passes a failure that is not retried, or came on the first attempt, unchanged", async () => {
    const refused = new AdapterError("unauthorized", "gcp", "gcp: no");
    const once = retryCloudCall(
      async () => {
        throw refused;
      },
      { retryable, ...virtualTime() },
    );
    await expect(once).rejects.toBe(refused);

    // Retried once, then refused: that is not giving up.
    let calls = 0;
    const later = retryCloudCall(
      async () => {
        calls += 1;
        throw calls === 1 ? throttled() : refused;
      },
      { retryable, random: () => 0, ...virtualTime() },
    );
    await expect(later).rejects.toBe(refused);
    expect(calls).toBe(2);
  });

  it("answers what the call answers", async () => {
    const { fn, calls } = failing(1, throttled);
    expect(await retryCloudCall(fn, { retryable, random: () => 0, ...virtualTime() })).toBe("ok");
    expect(calls).toEqual([1, 2]);
  });
});
