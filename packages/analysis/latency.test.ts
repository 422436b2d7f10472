import { describe, expect, it } from "vitest";
import type { RevisionOutcomes } from "#core";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "./buckets.ts";
import { DEFAULT_ANALYSIS_CONFIG } from "./config.ts";
import { latencyTest } from "./latency.ts";

const mixture = DEFAULT_ANALYSIS_CONFIG.mixture;
const bounds = RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS;

/** `requests` spread evenly in log latency between `fromMs` and `toMs`, bucketed on `bounds`. */
const histogram = (
  requests: number,
  fromMs: number,
  toMs: number,
  b: readonly number[] = bounds,
): RevisionOutcomes => {
  const latencyBuckets = new Array<number>(b.length + 1).fill(0);
  for (let i = 0; i < requests; i++) {
    const ms = fromMs * (toMs / fromMs) ** ((i + 0.5) / requests);
    const k = b.findIndex((x) => ms <= x);
    const at = k === -1 ? b.length : k;
    latencyBuckets[at] = (latencyBuckets[at] ?? 0) + 1;
  }
  return { requests, serverErrors: 0, bucketBoundsMs: b, latencyBuckets };
};

describe("latencyTest", () => {
  it("fails a canary slower at every quantile and names a bound between the two", () => {
    const r = latencyTest(histogram(2000, 25, 100), histogram(18_000, 20, 80), 0.005, mixture);
    expect(r.regression).toBe(true);
    expect(r.eValue).toBeGreaterThanOrEqual(r.threshold);
    expect(r.threshold).toBe(200);
    expect(r.boundsCompared).toBe(61);
    expect(r.boundMs).toBeGreaterThan(20);
    expect(r.boundMs).toBeLessThan(100);
    expect(r.canarySlowerShare).toBeGreaterThan(r.stableSlowerShare ?? 1);
  });

  it("never fails a canary that is faster, or the same", () => {
    for (const canary of [histogram(2000, 10, 40), histogram(2000, 20, 80)]) {
      const r = latencyTest(canary, histogram(18_000, 20, 80), 0.005, mixture);
      expect(r.regression).toBe(false);
      expect(r.eValue).toBeLessThan(1);
    }
  });

  it("catches a slower tail even when the median is unchanged", () => {
    const canary = histogram(2000, 20, 80);
    const stable = histogram(18_000, 20, 80);
    const slowTail = [...canary.latencyBuckets];
    // Move the slowest 5 % of the canary's requests (70–80 ms) into the (362, 431] ms bucket.
    let moved = 0;
    for (let i = slowTail.length - 1; i >= 0 && moved < 100; i--) {
      const take = Math.min(slowTail[i] ?? 0, 100 - moved);
      slowTail[i] = (slowTail[i] ?? 0) - take;
      moved += take;
    }
    const at = bounds.indexOf(431);
    expect(at).toBeGreaterThan(0);
    slowTail[at] = (slowTail[at] ?? 0) + moved;
    const r = latencyTest({ ...canary, latencyBuckets: slowTail }, stable, 0.005, mixture);
    expect(r.regression).toBe(true);
    expect(r.boundMs).toBeGreaterThanOrEqual(64);
  });

  it("compares on the bounds both histograms share", () => {
    const coarse = [10, 25, 50, 100, 250];
    const r = latencyTest(
      histogram(2000, 60, 240, coarse),
      histogram(18_000, 20, 80, bounds),
      0.005,
      mixture,
    );
    expect(r.boundsCompared).toBe(0);
    const shared = latencyTest(
      histogram(2000, 60, 240, [16, 32, 64, 128]),
      histogram(18_000, 20, 80),
      0.005,
      mixture,
    );
    expect(shared.boundsCompared).toBe(4);
    expect(shared.regression).toBe(true);
  });

  it("has nothing to compare without requests or shared bounds", () => {
    for (const r of [
      latencyTest(histogram(0, 1, 2), histogram(0, 1, 2), 0.005, mixture),
      latencyTest(histogram(2000, 60, 240, [7]), histogram(18_000, 20, 80, [8]), 0.005, mixture),
    ]) {
      expect(r).toMatchObject({ eValue: 0, regression: false, boundMs: null });
      expect(r.canarySlowerShare).toBeNull();
    }
  });
});
