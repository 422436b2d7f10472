import { describe, expect, it } from "vitest";
import { DevsimError } from "#core";
import {
  LATENCY_BUCKET_BOUNDS_MS,
  OutcomeCounters,
  type OutcomeKey,
  type OutcomeSeries,
} from "./outcomes.ts";

const canary: OutcomeKey = { workload: "shop", cloud: "aws", region: "us-east-1", revision: 2 };
const stable: OutcomeKey = { ...canary, revision: 1 };

/** Buckets with `n` in the bucket at `index` and zero elsewhere (11 buckets with the default bounds). */
const oneIn = (index: number, n = 1): number[] =>
  Array.from({ length: LATENCY_BUCKET_BOUNDS_MS.length + 1 }, (_, i) => (i === index ? n : 0));

describe("OutcomeCounters", () => {
  it("starts empty", () => {
    expect(new OutcomeCounters().snapshot()).toEqual({
      bucketBoundsMs: LATENCY_BUCKET_BOUNDS_MS,
      series: [],
    });
  });

  it("counts requests, 5xx and latency per key", () => {
    const counters = new OutcomeCounters();
    counters.record(canary, 200, 3);
    counters.record(canary, 503, 7);
    counters.record(stable, 404, 30);
    counters.record(canary, 500, 12);
    expect(counters.snapshot().series).toEqual([
      {
        ...canary,
        requests: 3,
        serverErrors: 2,
        latencyBuckets: [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        latencySumMs: 22,
      },
      { ...stable, requests: 1, serverErrors: 0, latencyBuckets: oneIn(3), latencySumMs: 30 },
    ]);
  });

  it.each([
    [200, 0],
    [302, 0],
    [404, 0],
    [499, 0],
    [500, 1],
    [502, 1],
    [599, 1],
  ])("status %i counts %i server errors", (status, errors) => {
    const counters = new OutcomeCounters();
    counters.record(canary, status, 1);
    expect(counters.snapshot().series[0]?.serverErrors).toBe(errors);
  });

  it("keeps keys apart on every field", () => {
    const counters = new OutcomeCounters();
    const keys: OutcomeKey[] = [
      canary,
      { ...canary, workload: "blog" },
      { ...canary, cloud: "gcp" },
      { ...canary, region: "eu-west-1" },
      { ...canary, revision: 3 },
      // Fields that would run together if the key were joined naively.
      { ...canary, workload: "shop/aws", region: "us" },
    ];
    for (const key of keys) counters.record(key, 200, 1);
    counters.record({ ...canary }, 200, 1);
    const series = counters.snapshot().series;
    expect(series).toHaveLength(keys.length);
    expect(series.map((s) => s.requests)).toEqual([2, 1, 1, 1, 1, 1]);
  });

  it("keeps only the key fields of what it is given", () => {
    const counters = new OutcomeCounters();
    const backendLike = { ...canary, weight: 10, url: "http://x" };
    counters.record(backendLike, 200, 1);
    expect(Object.keys(counters.snapshot().series[0] ?? {}).sort()).toEqual(
      [
        "cloud",
        "latencyBuckets",
        "latencySumMs",
        "region",
        "requests",
        "revision",
        "serverErrors",
        "workload",
      ].sort(),
    );
  });

  it.each([
    [0, 0],
    [5, 0],
    [5.000_1, 1],
    [10, 1],
    [24.9, 2],
    [25, 2],
    [50, 3],
    [99, 4],
    [100, 4],
    [250, 5],
    [500, 6],
    [1000, 7],
    [2500, 8],
    [5000, 9],
    [5000.1, 10],
    [86_400_000, 10],
  ])("a latency of %f ms lands in bucket %i (bounds are inclusive)", (latency, bucket) => {
    const counters = new OutcomeCounters();
    counters.record(canary, 200, latency);
    expect(counters.snapshot().series[0]).toMatchObject({
      latencyBuckets: oneIn(bucket),
      latencySumMs: latency,
    });
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "counts a latency of %f as 0 ms",
    (latency) => {
      const counters = new OutcomeCounters();
      counters.record(canary, 200, latency);
      counters.record(canary, 200, 20);
      expect(counters.snapshot().series[0]).toMatchObject({
        latencyBuckets: [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        latencySumMs: 20,
      });
    },
  );

  it("takes its own bucket bounds", () => {
    const counters = new OutcomeCounters({ bucketBoundsMs: [1, 2] });
    for (const latency of [0.5, 1.5, 2, 3]) counters.record(canary, 200, latency);
    expect(counters.snapshot()).toEqual({
      bucketBoundsMs: [1, 2],
      series: [{ ...canary, requests: 4, serverErrors: 0, latencyBuckets: [1, 2, 1], latencySumMs: 7 }],
    });
  });

  it.each([[[0, 1]], [[-1]], [[2, 1]], [[1, 1]], [[1, Number.POSITIVE_INFINITY]], [[Number.NaN]]])(
    "refuses bucket bounds %j when constructed",
    (bounds) => {
      expect(() => new OutcomeCounters({ bucketBoundsMs: bounds })).toThrow(DevsimError);
    },
  );

  it("allows no finite bounds: one +Inf bucket", () => {
    const counters = new OutcomeCounters({ bucketBoundsMs: [] });
    counters.record(canary, 200, 3);
    expect(counters.snapshot().series[0]).toMatchObject({ latencyBuckets: [1], latencySumMs: 3 });
  });

  it("is not changed by changes to the bounds it was given", () => {
    const bounds = [1, 2];
    const counters = new OutcomeCounters({ bucketBoundsMs: bounds });
    bounds.push(3);
    expect(counters.bucketBoundsMs).toEqual([1, 2]);
  });

  it("hands out snapshots that later records do not change", () => {
    const counters = new OutcomeCounters();
    counters.record(canary, 200, 1);
    const before = counters.snapshot();
    counters.record(canary, 500, 1);
    counters.record(stable, 200, 1);
    expect(before.series).toEqual([
      { ...canary, requests: 1, serverErrors: 0, latencyBuckets: oneIn(0), latencySumMs: 1 },
    ]);
  });

  it("serialises to JSON and back unchanged", () => {
    const counters = new OutcomeCounters();
    counters.record(canary, 200, 12.5);
    counters.record(stable, 502, 9000);
    const snapshot = counters.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });

  it("drains: returns what was counted and starts again from zero", () => {
    const counters = new OutcomeCounters();
    counters.record(canary, 200, 1);
    counters.record(canary, 500, 1);
    const drained = counters.drain();
    expect(drained.series).toEqual([
      { ...canary, requests: 2, serverErrors: 1, latencyBuckets: oneIn(0, 2), latencySumMs: 2 },
    ]);
    expect(counters.snapshot().series).toEqual([]);
    counters.record(canary, 200, 1);
    expect(counters.drain().series).toEqual([
      { ...canary, requests: 1, serverErrors: 0, latencyBuckets: oneIn(0), latencySumMs: 1 },
    ]);
    expect(drained.series[0]?.requests).toBe(2);
  });

  it("adds up across drains to what one snapshot would have counted", () => {
    const whole = new OutcomeCounters();
    const drained = new OutcomeCounters();
    const batches: OutcomeSeries[][] = [];
    for (let i = 0; i < 300; i++) {
      const key = i % 3 === 0 ? stable : canary;
      const status = i % 7 === 0 ? 500 : 200;
      const latency = (i * 37) % 6000;
      whole.record(key, status, latency);
      drained.record(key, status, latency);
      if (i % 50 === 49) batches.push([...drained.drain().series]);
    }
    const summed = new Map<number, OutcomeSeries>();
    for (const series of batches.flat()) {
      const prior = summed.get(series.revision);
      summed.set(
        series.revision,
        prior === undefined
          ? series
          : {
              ...series,
              requests: prior.requests + series.requests,
              serverErrors: prior.serverErrors + series.serverErrors,
              latencyBuckets: series.latencyBuckets.map((n, i) => n + (prior.latencyBuckets[i] ?? 0)),
              latencySumMs: prior.latencySumMs + series.latencySumMs,
            },
      );
    }
    for (const series of whole.snapshot().series) expect(summed.get(series.revision)).toEqual(series);
  });
});

describe("OutcomeCounters.merge", () => {
  it("adds drained batches back into one running total", () => {
    const live = new OutcomeCounters({ bucketBoundsMs: [10, 100] });
    const total = new OutcomeCounters({ bucketBoundsMs: [10, 100] });
    const key = { workload: "w", cloud: "aws" as const, region: "us-east-1", revision: 1 };
    live.record(key, 200, 5);
    live.record(key, 500, 50);
    total.merge(live.drain());
    live.record(key, 200, 500);
    live.record({ ...key, revision: 2 }, 200, 1);
    total.merge(live.drain());
    const series = total.snapshot().series;
    expect(series.find((s) => s.revision === 1)).toMatchObject({
      requests: 3,
      serverErrors: 1,
      latencyBuckets: [1, 1, 1],
      latencySumMs: 555,
    });
    expect(series.find((s) => s.revision === 2)).toMatchObject({ requests: 1, latencyBuckets: [1, 0, 0] });
  });

  it("refuses counts made with other bucket bounds", () => {
    const a = new OutcomeCounters({ bucketBoundsMs: [10] });
    expect(() => a.merge(new OutcomeCounters({ bucketBoundsMs: [20] }).snapshot())).toThrow(
      /other latency buckets/,
    );
  });
});
