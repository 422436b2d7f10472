import { describe, expect, it } from "vitest";
import { logSpacedBounds, RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "./buckets.ts";

describe("logSpacedBounds", () => {
  it("doubles every `perDoubling` bounds and covers the range", () => {
    expect(logSpacedBounds(1, 8, 1)).toEqual([1, 2, 4, 8]);
    expect(logSpacedBounds(1, 4, 2)).toEqual([1, 1.41, 2, 2.83, 4]);
    expect(logSpacedBounds(10, 25, 1)).toEqual([10, 20, 40]);
  });
});

describe("RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS", () => {
  const b = RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS;

  it("spans 1 ms to 32.8 s with 61 finite, positive, strictly increasing bounds", () => {
    expect(b).toHaveLength(61);
    expect(b[0]).toBe(1);
    expect(b[b.length - 1]).toBe(32_800);
    b.forEach((x, i) => {
      expect(Number.isFinite(x) && x > 0).toBe(true);
      if (i > 0) expect(x).toBeGreaterThan(b[i - 1] ?? 0);
    });
  });

  it("puts a bound within 10 % of any median between 1 ms and 30 s", () => {
    for (let median = 1; median <= 30_000; median *= 1.037) {
      const nearest = Math.min(...b.map((x) => Math.abs(Math.log(x / median))));
      expect(nearest).toBeLessThan(Math.log(1.1));
    }
  });
});
