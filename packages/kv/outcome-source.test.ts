import { describe, expect, it } from "vitest";
import { DevsimError, type OutcomeQuery } from "#core";
import { LATENCY_BUCKET_BOUNDS_MS, OutcomeCounters } from "#router";
import { useRedisFixture } from "../../test/support/redis.ts";
import { memoryStore } from "./memory.ts";
import { flushOutcomes } from "./outcome-flush.ts";
import { foldBucket, kvMetricSource } from "./outcome-source.ts";
import type { KeyValueStore } from "./store.ts";
import { upstashStore } from "./upstash.ts";

const redis = useRedisFixture("kv-outcomes");

const aws = { workload: "shop", cloud: "aws" as const, region: "us-east-1", revision: 2 };
const gcp = { workload: "shop", cloud: "gcp" as const, region: "europe-west1", revision: 2 };
const stable = { ...aws, revision: 1 };

// 2026-01-01T00:00:00Z, a multiple of every bucket width used here.
const T = Date.UTC(2026, 0, 1);
const SECOND = 1000;

/** Default bounds: 5 10 25 50 100 250 500 1000 2500 5000 ms, then +Inf (index 10). */
const buckets = (entries: Record<number, number>): number[] =>
  Array.from({ length: LATENCY_BUCKET_BOUNDS_MS.length + 1 }, (_, i) => entries[i] ?? 0);

const window = (since: number, until: number, extra: Partial<OutcomeQuery> = {}): OutcomeQuery => ({
  workload: "shop",
  revision: 2,
  since,
  until,
  ...extra,
});

describe.each([
  { name: "memory", store: (): KeyValueStore => memoryStore() },
  {
    name: "Upstash (real Redis through the bridge)",
    store: (): KeyValueStore =>
      upstashStore({ url: redis.bridge.url, token: redis.bridge.token, prefix: redis.prefix }),
  },
])("router outcomes in KV on $name", ({ store }) => {
  it("sums a revision's requests, 5xx and latency across the targets it reported from", async () => {
    const kv = store();
    const counters = new OutcomeCounters();
    counters.record(aws, 200, 3);
    counters.record(aws, 503, 40);
    counters.record(aws, 200, 40);
    counters.record(gcp, 500, 7000);
    counters.record(stable, 200, 1);
    await flushOutcomes(kv, counters.drain(), { now: T + 4 * SECOND });

    const source = kvMetricSource(kv);
    expect(await source.outcomes(window(T, T + 10 * SECOND))).toEqual({
      requests: 4,
      serverErrors: 2,
      bucketBoundsMs: LATENCY_BUCKET_BOUNDS_MS,
      latencyBuckets: buckets({ 0: 1, 3: 2, 10: 1 }),
    });
    expect(await source.outcomes(window(T, T + 10 * SECOND, { revision: 1 }))).toEqual({
      requests: 1,
      serverErrors: 0,
      bucketBoundsMs: LATENCY_BUCKET_BOUNDS_MS,
      latencyBuckets: buckets({ 0: 1 }),
    });
    expect((await source.outcomes(window(T, T + 10 * SECOND, { workload: "other" }))).requests).toBe(0);
  });

  it("adds flushes up and reads only the targets asked for, each once", async () => {
    const kv = store();
    const counters = new OutcomeCounters();
    for (let flush = 0; flush < 3; flush++) {
      counters.record(aws, 200, 20);
      counters.record(gcp, 502, 20);
      await flushOutcomes(kv, counters.drain(), { now: T + flush * SECOND });
    }
    const source = kvMetricSource(kv);
    const only = (targets: OutcomeQuery["targets"]) =>
      source.outcomes(window(T, T + 10 * SECOND, { targets }));
    expect(await only([{ cloud: "gcp", region: "europe-west1" }])).toMatchObject({
      requests: 3,
      serverErrors: 3,
      latencyBuckets: buckets({ 2: 3 }),
    });
    expect((await only([aws, aws, gcp])).requests).toBe(6);
    expect((await only([{ cloud: "azure", region: "eastus" }])).requests).toBe(0);
    expect((await only([])).requests).toBe(0);
  });

  it("counts every bucket that overlaps the window in full, and none outside it", async () => {
    const kv = store();
    const counters = new OutcomeCounters();
    // One request in each of the buckets starting at T, T+10 s, T+20 s and T+30 s.
    for (let bucket = 0; bucket < 4; bucket++) {
      for (let n = 0; n <= bucket; n++) counters.record(aws, 200, 1);
      await flushOutcomes(kv, counters.drain(), { now: T + bucket * 10 * SECOND + 9_999 });
    }
    const source = kvMetricSource(kv, { bucketSeconds: 10 });
    const requests = async (since: number, until: number) =>
      (await source.outcomes(window(since, until))).requests;
    expect(await requests(T, T + 40 * SECOND)).toBe(1 + 2 + 3 + 4);
    // Partial buckets at both ends count whole.
    expect(await requests(T + 9 * SECOND, T + 10 * SECOND + 1)).toBe(1 + 2);
    expect(await requests(T + 15 * SECOND, T + 16 * SECOND)).toBe(2);
    // `until` is exclusive: a window ending where a bucket starts leaves that bucket out.
    expect(await requests(T + 10 * SECOND, T + 30 * SECOND)).toBe(2 + 3);
    expect(await requests(T - 60 * SECOND, T)).toBe(0);
    expect(await requests(T + 40 * SECOND, T + 100 * SECOND)).toBe(0);
  });

  it("answers zeros with the configured bounds when nothing was recorded", async () => {
    const source = kvMetricSource(store(), { bucketBoundsMs: [10, 100] });
    expect(await source.outcomes(window(T, T + SECOND))).toEqual({
      requests: 0,
      serverErrors: 0,
      bucketBoundsMs: [10, 100],
      latencyBuckets: [0, 0, 0],
    });
  });

  it("places buckets stored with other bounds at the first reported bound at or above them", async () => {
    const kv = store();
    const counters = new OutcomeCounters({ bucketBoundsMs: [5, 20, 200, 2000] });
    for (const ms of [1, 15, 150, 1500, 9000]) counters.record(aws, 200, ms);
    await flushOutcomes(kv, counters.drain(), { now: T });
    const source = kvMetricSource(kv, { bucketBoundsMs: [10, 100, 1000] });
    expect((await source.outcomes(window(T, T + SECOND))).latencyBuckets).toEqual([1, 1, 1, 2]);
  });

  it("keeps targets with odd region names apart", async () => {
    const kv = store();
    const counters = new OutcomeCounters();
    counters.record({ ...aws, region: "a:b" }, 200, 1);
    counters.record({ ...aws, region: "a" }, 500, 1);
    counters.record({ ...aws, region: 'we"ird/é' }, 200, 1);
    await flushOutcomes(kv, counters.drain(), { now: T });
    const source = kvMetricSource(kv);
    const target = (region: string) => [{ cloud: "aws" as const, region }];
    expect(await source.outcomes(window(T, T + SECOND, { targets: target("a:b") }))).toMatchObject({
      requests: 1,
      serverErrors: 0,
    });
    expect((await source.outcomes(window(T, T + SECOND, { targets: target('we"ird/é') }))).requests).toBe(1);
    expect(await source.outcomes(window(T, T + SECOND))).toMatchObject({ requests: 3, serverErrors: 1 });
  });

  it("refuses bounds that do not increase", () => {
    expect(() => kvMetricSource(store(), { bucketBoundsMs: [10, 10] })).toThrow(/increasing/);
    expect(() => kvMetricSource(store(), { bucketBoundsMs: [0, 10] })).toThrow(/increasing/);
    expect(() => kvMetricSource(store(), { bucketSeconds: 2.5 })).toThrow(/bucketSeconds/);
  });

  it("refuses an empty or inverted window and one that spans too many buckets", async () => {
    const source = kvMetricSource(store(), { bucketSeconds: 10, maxBuckets: 6 });
    const refused = (since: number, until: number) =>
      expect(source.outcomes(window(since, until))).rejects.toSatisfy(
        (e) => e instanceof DevsimError && e.code === "invalid_input",
      );
    await refused(T, T);
    await refused(T + 1, T);
    await refused(Number.NaN, T);
    await refused(T, T + 61 * SECOND);
    expect((await source.outcomes(window(T, T + 60 * SECOND))).requests).toBe(0);
  });
});

describe("router outcomes in Upstash", () => {
  it("lays keys out per target and bucket, with an index of targets and a TTL", async () => {
    const kv = upstashStore({ url: redis.bridge.url, token: redis.bridge.token, prefix: redis.prefix });
    const counters = new OutcomeCounters();
    counters.record(aws, 503, 30);
    counters.record(aws, 200, 30);
    await flushOutcomes(kv, counters.drain(), { now: T + 12_345, ttlSeconds: 600 });
    const bucket = `${redis.prefix}outcomes:shop:2:10s:aws:us-east-1:${T / 1000 + 10}`;
    expect(await redis.direct.hGetAll(bucket)).toEqual({ requests: "2", serverErrors: "1", "le:50": "2" });
    const index = `${redis.prefix}outcomes:shop:2:targets`;
    expect(await redis.direct.hGetAll(index)).toEqual({ '["aws","us-east-1"]': "2" });
    for (const key of [bucket, index]) {
      expect(await redis.direct.ttl(key)).toBeGreaterThan(590);
    }
    expect((await redis.direct.keys(`${redis.prefix}*`)).sort()).toEqual([bucket, index].sort());
  });
});

describe("foldBucket", () => {
  it("picks the first bound at or above, tolerating rounding, and +Inf past the last", () => {
    expect(foldBucket([5, 10], 5)).toBe(0);
    expect(foldBucket([5, 10], 5.000000000001)).toBe(0);
    expect(foldBucket([5, 10], 6)).toBe(1);
    expect(foldBucket([5, 10], 11)).toBe(2);
    expect(foldBucket([5, 10], Number.POSITIVE_INFINITY)).toBe(2);
  });
});
