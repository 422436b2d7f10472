import { describe, expect, it } from "vitest";
import type { RevisionOutcomes } from "#core";
import { DEFAULT_ANALYSIS_CONFIG } from "./config.ts";
import { errorTest } from "./errors.ts";

const mixture = DEFAULT_ANALYSIS_CONFIG.mixture;
const outcomes = (requests: number, serverErrors: number): RevisionOutcomes => ({
  requests,
  serverErrors,
  bucketBoundsMs: [],
  latencyBuckets: [requests],
});

describe("errorTest", () => {
  it("reports rates, their ratio and the threshold 1/alpha", () => {
    const r = errorTest(outcomes(1000, 30), outcomes(9000, 90), 0.005, mixture);
    expect(r.canaryErrorRate).toBe(0.03);
    expect(r.stableErrorRate).toBe(0.01);
    expect(r.rateRatio).toBeCloseTo(3, 12);
    expect(r.threshold).toBe(200);
    expect(r.eValue).toBeGreaterThan(r.threshold);
    expect(r.regression).toBe(true);
  });

  it("does not fail on the same rate, a lower rate or no errors", () => {
    for (const [canary, stable] of [
      [outcomes(1000, 10), outcomes(9000, 90)],
      [outcomes(1000, 2), outcomes(9000, 90)],
      [outcomes(1000, 0), outcomes(9000, 0)],
    ] as const) {
      const r = errorTest(canary, stable, 0.005, mixture);
      expect(r.regression).toBe(false);
      expect(r.eValue).toBeLessThan(2);
    }
  });

  it("has no rates or ratio without requests, and no evidence either", () => {
    const r = errorTest(outcomes(0, 0), outcomes(0, 0), 0.005, mixture);
    expect(r).toMatchObject({
      canaryErrorRate: null,
      stableErrorRate: null,
      rateRatio: null,
      regression: false,
    });
    expect(r.eValue).toBeLessThanOrEqual(1 + 1e-9);
    expect(errorTest(outcomes(100, 5), outcomes(900, 0), 0.005, mixture).rateRatio).toBeNull();
  });

  it("needs more evidence for a smaller alpha", () => {
    const canary = outcomes(1000, 25);
    const stable = outcomes(9000, 90);
    expect(errorTest(canary, stable, 0.05, mixture).regression).toBe(true);
    expect(errorTest(canary, stable, 1e-6, mixture).regression).toBe(false);
  });

  it("keeps the e-value finite so the evidence stays JSON", () => {
    const r = errorTest(outcomes(100_000, 100_000), outcomes(900_000, 0), 0.005, mixture);
    expect(r.regression).toBe(true);
    expect(Number.isFinite(r.eValue)).toBe(true);
  });
});
