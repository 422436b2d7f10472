import { describe, expect, it } from "vitest";
import type { RevisionOutcomes } from "#core";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "./buckets.ts";
import { AnalysisConfig } from "./config.ts";
import { judgeCanary } from "./judge.ts";

const bounds = RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS;
const config = AnalysisConfig.parse({ minRequests: 100 });

/** `requests` with `serverErrors`, latencies spread evenly in log scale between `fromMs` and `toMs`. */
const outcomes = (requests: number, serverErrors: number, fromMs = 20, toMs = 80): RevisionOutcomes => {
  const latencyBuckets = new Array<number>(bounds.length + 1).fill(0);
  for (let i = 0; i < requests; i++) {
    const ms = fromMs * (toMs / fromMs) ** ((i + 0.5) / requests);
    const k = bounds.findIndex((b) => ms <= b);
    const at = k === -1 ? bounds.length : k;
    latencyBuckets[at] = (latencyBuckets[at] ?? 0) + 1;
  }
  return { requests, serverErrors, bucketBoundsMs: bounds, latencyBuckets };
};
const healthy = outcomes(18_000, 180);

describe("judgeCanary", () => {
  it("passes a canary like stable once the window ends, and is running until then", () => {
    const canary = outcomes(2000, 20);
    const running = judgeCanary({ stable: healthy, canary, config, final: false });
    expect(running.status).toBe("running");
    expect(running.decidedBy).toBeNull();
    const passed = judgeCanary({ stable: healthy, canary, config, final: true });
    expect(passed.status).toBe("pass");
    expect(passed.reason).toContain("no regression");
    expect(passed.evidence?.final).toBe(true);
  });

  it("fails on errors before the window ends, saying by how much", () => {
    const v = judgeCanary({ stable: healthy, canary: outcomes(2000, 80), config, final: false });
    expect(v.status).toBe("fail");
    expect(v.decidedBy).toBe("errors");
    expect(v.reason).toMatch(/canary error rate 4\.00 % vs stable 1\.00 % \(×4\); e-value .* ≥ 200/);
    expect(v.evidence?.errors.regression).toBe(true);
  });

  it("fails on latency when the canary is slower", () => {
    const v = judgeCanary({ stable: healthy, canary: outcomes(2000, 20, 26, 104), config, final: false });
    expect(v.status).toBe("fail");
    expect(v.decidedBy).toBe("latency");
    expect(v.reason).toMatch(/of requests slower than .* ms vs stable/);
  });

  it("never fails a canary that is better than stable on both counts", () => {
    for (const final of [false, true]) {
      const v = judgeCanary({ stable: healthy, canary: outcomes(2000, 2, 10, 40), config, final });
      expect(v.status).toBe(final ? "pass" : "running");
      expect(v.evidence?.errors.eValue).toBeLessThan(1);
      expect(v.evidence?.latency.eValue).toBeLessThan(1);
    }
  });

  it("fails on a breached guard even when stable is as bad", () => {
    const guarded = AnalysisConfig.parse({ minRequests: 100, maxErrorRate: 0.05, maxP99LatencyMs: 500 });
    const errors = judgeCanary({
      stable: outcomes(18_000, 1800),
      canary: outcomes(2000, 200),
      config: guarded,
      final: false,
    });
    expect(errors).toMatchObject({ status: "fail", decidedBy: "maxErrorRate" });
    expect(errors.reason).toContain("above the limit 5.00 %");
    const slow = judgeCanary({
      stable: outcomes(18_000, 0, 400, 2000),
      canary: outcomes(2000, 0, 400, 2000),
      config: guarded,
      final: false,
    });
    expect(slow).toMatchObject({ status: "fail", decidedBy: "maxP99LatencyMs" });
  });

  it("is inconclusive, never a pass, for a window without requests", () => {
    const none = outcomes(0, 0);
    expect(judgeCanary({ stable: healthy, canary: none, config, final: false }).status).toBe("running");
    for (const onInconclusive of ["fail", "extend"] as const) {
      const v = judgeCanary({
        stable: none,
        canary: none,
        config: { ...config, onInconclusive },
        final: true,
      });
      expect(v).toMatchObject({ status: "inconclusive", decidedBy: "noRequests", onInconclusive });
    }
  });

  it("is inconclusive when either revision served fewer than minRequests", () => {
    const few = judgeCanary({ stable: healthy, canary: outcomes(99, 1), config, final: true });
    expect(few).toMatchObject({ status: "inconclusive", decidedBy: "minRequests", onInconclusive: "fail" });
    expect(few.reason).toContain("100 needed");
    const noStable = judgeCanary({
      stable: outcomes(50, 0),
      canary: outcomes(2000, 20),
      config,
      final: true,
    });
    expect(noStable.status).toBe("inconclusive");
  });

  it("splits alpha between the tests and keeps evidence JSON-serialisable", () => {
    const v = judgeCanary({
      stable: healthy,
      canary: outcomes(2000, 80),
      config: { ...config, alpha: 0.02, errorAlphaShare: 0.25 },
      final: true,
    });
    expect(v.evidence?.errors.threshold).toBeCloseTo(200, 9);
    expect(v.evidence?.latency.threshold).toBeCloseTo(1 / 0.015, 9);
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
    expect(v.evidence?.canary).toMatchObject({ requests: 2000, serverErrors: 80, errorRate: 0.04 });
    expect(v.evidence?.canary.p50LatencyMs).toBeGreaterThan(35);
    expect(v.evidence?.canary.p50LatencyMs).toBeLessThan(45);
  });

  it("answers an error verdict for malformed outcomes, naming the revision", () => {
    const v = judgeCanary({ stable: healthy, canary: { ...healthy, serverErrors: -1 }, config, final: true });
    expect(v).toMatchObject({ status: "error", decidedBy: null, evidence: null });
    expect(v.reason).toContain("canary outcomes are malformed: serverErrors");
    const s = judgeCanary({
      stable: { ...healthy, latencyBuckets: [1] },
      canary: healthy,
      config,
      final: true,
    });
    expect(s.reason).toContain("stable outcomes are malformed: latencyBuckets");
  });
});
