import { describe, expect, it } from "vitest";
import { certainlySlowerThan, onSharedBounds, quantileMs } from "./histogram.ts";

describe("onSharedBounds", () => {
  it("keeps identical bounds as they are", () => {
    const h = { boundsMs: [10, 20], counts: [1, 2, 3] };
    expect(onSharedBounds(h, h)).toEqual({ boundsMs: [10, 20], a: [1, 2, 3], b: [1, 2, 3] });
  });

  it("merges buckets down to the bounds both histograms have", () => {
    const a = { boundsMs: [5, 10, 25, 50], counts: [1, 2, 3, 4, 5] };
    const b = { boundsMs: [10, 20, 50, 100], counts: [6, 7, 8, 9, 10] };
    expect(onSharedBounds(a, b)).toEqual({ boundsMs: [10, 50], a: [3, 7, 5], b: [6, 15, 19] });
  });

  it("falls back to one +Inf bucket when no bound is shared", () => {
    const r = onSharedBounds({ boundsMs: [1], counts: [2, 3] }, { boundsMs: [2], counts: [4, 5] });
    expect(r).toEqual({ boundsMs: [], a: [5], b: [9] });
  });
});

describe("quantileMs", () => {
  const h = { boundsMs: [10, 20, 40], counts: [10, 10, 0, 0] };

  it("interpolates within the bucket holding the quantile", () => {
    expect(quantileMs(h, 0.25)).toBe(5);
    expect(quantileMs(h, 0.5)).toBe(10);
    expect(quantileMs(h, 0.75)).toBe(15);
    expect(quantileMs(h, 1)).toBe(20);
  });

  it("answers the highest finite bound in the +Inf bucket and null without requests", () => {
    expect(quantileMs({ boundsMs: [10, 20], counts: [1, 0, 99] }, 0.99)).toBe(20);
    expect(quantileMs({ boundsMs: [10], counts: [0, 0] }, 0.5)).toBeNull();
  });

  it("skips empty buckets before the one that holds the quantile", () => {
    expect(quantileMs({ boundsMs: [10, 20, 40], counts: [0, 0, 4, 0] }, 0.5)).toBe(30);
  });
});

describe("certainlySlowerThan", () => {
  const h = { boundsMs: [10, 20, 40], counts: [1, 2, 3, 4] };

  it("counts only buckets entirely above the limit", () => {
    expect(certainlySlowerThan(h, 20)).toBe(7);
    expect(certainlySlowerThan(h, 25)).toBe(4);
    expect(certainlySlowerThan(h, 40)).toBe(4);
    expect(certainlySlowerThan(h, 41)).toBe(0);
    expect(certainlySlowerThan(h, 0)).toBe(10);
  });
});
