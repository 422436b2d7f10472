import { afterEach, describe, expect, it } from "vitest";
import { OutcomeCounters } from "#router";
import { useRedisFixture } from "../../test/support/redis.ts";
import { type OutcomeFlusher, startOutcomeFlusher } from "./outcome-flusher.ts";
import { kvMetricSource } from "./outcome-source.ts";
import type { KeyValueStore } from "./store.ts";
import { upstashStore } from "./upstash.ts";

const redis = useRedisFixture("kv-flusher");

const aws = { workload: "shop", cloud: "aws" as const, region: "us-east-1", revision: 2 };
const T = Date.UTC(2026, 0, 1);

const realKv = (): KeyValueStore =>
  upstashStore({ url: redis.bridge.url, token: redis.bridge.token, prefix: redis.prefix });

/** The real store, but `incrementHashes` fails while `down` is set, as when Upstash is unreachable. */
const flakyKv = () => {
  const kv = realKv();
  const state = { down: true, attempts: 0 };
  const flaky: KeyValueStore = {
    ...kv,
    incrementHashes: async (increments, ttl) => {
      state.attempts += 1;
      if (state.down) throw new Error("fetch failed: connect ECONNREFUSED");
      await kv.incrementHashes(increments, ttl);
    },
  };
  return { kv: flaky, state };
};

const requestsBetween = async (kv: KeyValueStore, since: number, until: number): Promise<number> =>
  (await kvMetricSource(kv).outcomes({ workload: "shop", revision: 2, since, until })).requests;

const waitFor = async (check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

let flusher: OutcomeFlusher | undefined;
afterEach(async () => {
  await flusher?.stop();
  flusher = undefined;
});

describe("startOutcomeFlusher", () => {
  it("drains the counters into KV every interval", async () => {
    const kv = realKv();
    const counters = new OutcomeCounters();
    flusher = startOutcomeFlusher({ counters, kv, intervalMs: 25 });
    const since = Date.now() - 60_000;
    counters.record(aws, 200, 3);
    counters.record(aws, 500, 3);
    await waitFor(async () => (await requestsBetween(kv, since, Date.now() + 60_000)) === 2, "a first flush");
    expect(counters.snapshot().series).toEqual([]);
    counters.record(aws, 200, 3);
    await waitFor(
      async () => (await requestsBetween(kv, since, Date.now() + 60_000)) === 3,
      "a second flush",
    );
  });

  it("keeps the counts of a failed flush, in their own time bucket, and writes them with the next", async () => {
    const { kv, state } = flakyKv();
    const counters = new OutcomeCounters();
    let now = T + 5_000;
    const errors: unknown[] = [];
    flusher = startOutcomeFlusher({
      counters,
      kv,
      intervalMs: 60_000,
      now: () => now,
      onError: (error) => errors.push(error),
    });
    counters.record(aws, 200, 3);
    counters.record(aws, 200, 3);
    await flusher.flush();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/ECONNREFUSED/);
    expect(await requestsBetween(kv, T, T + 3_600_000)).toBe(0);

    // A minute later the KV is back; the earlier counts still belong to the first bucket.
    now = T + 65_000;
    counters.record(aws, 503, 3);
    state.down = false;
    await flusher.flush();
    expect(errors).toHaveLength(1);
    expect(state.attempts).toBe(2);
    expect(await requestsBetween(kv, T, T + 10_000)).toBe(2);
    expect(await requestsBetween(kv, T + 60_000, T + 70_000)).toBe(1);

    // Written once: a later flush with nothing new adds nothing.
    await flusher.flush();
    expect(await requestsBetween(kv, T, T + 3_600_000)).toBe(3);
  });

  it("retries on its own timer after a failure", async () => {
    const { kv, state } = flakyKv();
    const counters = new OutcomeCounters();
    const errors: unknown[] = [];
    flusher = startOutcomeFlusher({ counters, kv, intervalMs: 20, onError: (error) => errors.push(error) });
    const since = Date.now() - 60_000;
    counters.record(aws, 200, 3);
    await waitFor(async () => errors.length >= 2, "two failed flushes");
    state.down = false;
    await waitFor(async () => (await requestsBetween(kv, since, Date.now() + 60_000)) === 1, "the retry");
  });

  it("stops draining while too much is pending, so the counters hold the rest", async () => {
    const { kv, state } = flakyKv();
    const counters = new OutcomeCounters();
    flusher = startOutcomeFlusher({ counters, kv, intervalMs: 60_000, maxPendingKeys: 2, now: () => T });
    counters.record(aws, 200, 3);
    await flusher.flush();
    counters.record(aws, 200, 3);
    await flusher.flush();
    // One series makes two pending keys (its bucket and the index): the second drain waited.
    expect(counters.snapshot().series.map((s) => s.requests)).toEqual([1]);
    state.down = false;
    await flusher.flush();
    expect(counters.snapshot().series).toEqual([]);
    expect(await requestsBetween(kv, T, T + 10_000)).toBe(2);
  });

  it("refuses options that would make every flush fail, and survives a throwing listener", async () => {
    const counters = new OutcomeCounters();
    const kv = realKv();
    expect(() => startOutcomeFlusher({ counters, kv, bucketSeconds: 0 })).toThrow(/bucketSeconds/);
    expect(() => startOutcomeFlusher({ counters, kv, ttlSeconds: 1.5 })).toThrow(/ttlSeconds/);
    expect(() => startOutcomeFlusher({ counters, kv, intervalMs: 0 })).toThrow(/intervalMs/);

    const { kv: flaky, state } = flakyKv();
    flusher = startOutcomeFlusher({
      counters,
      kv: flaky,
      intervalMs: 60_000,
      now: () => T,
      onError: () => {
        throw new Error("a broken logger");
      },
    });
    counters.record(aws, 200, 3);
    await flusher.flush();
    state.down = false;
    await flusher.flush();
    expect(await requestsBetween(flaky, T, T + 10_000)).toBe(1);
  });

  it("flushes what is left when stopped, and nothing after", async () => {
    const kv = realKv();
    const counters = new OutcomeCounters();
    const stopped = startOutcomeFlusher({ counters, kv, intervalMs: 20, now: () => T });
    counters.record(aws, 200, 3);
    await stopped.stop();
    expect(await requestsBetween(kv, T, T + 10_000)).toBe(1);
    counters.record(aws, 200, 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(counters.snapshot().series).toHaveLength(1);
    expect(await requestsBetween(kv, T, T + 10_000)).toBe(1);
  });
});
