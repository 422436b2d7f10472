import { describe, expect, it } from "vitest";
import {
  finiteExp,
  halfNormalPrior,
  logAddExp,
  logNormalPrior,
  logSumExp,
  mixPriors,
  softplus,
} from "./mixture.ts";

const totalWeight = (logWeights: readonly number[]): number =>
  logWeights.reduce((s, w) => s + Math.exp(w), 0);

describe("softplus", () => {
  it("is log(1 + e^x) and does not overflow", () => {
    for (const x of [-30, -2, 0, 0.5, 3, 30]) expect(softplus(x)).toBeCloseTo(Math.log1p(Math.exp(x)), 12);
    expect(softplus(1000)).toBe(1000);
    expect(softplus(-1000)).toBe(0);
  });
});

describe("logSumExp and logAddExp", () => {
  it("add in log space without overflow", () => {
    expect(logSumExp([Math.log(2), Math.log(3)])).toBeCloseTo(Math.log(5), 12);
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 12);
    expect(logAddExp(Math.log(2), Math.log(3))).toBeCloseTo(Math.log(5), 12);
    expect(logAddExp(-1000, -1000)).toBeCloseTo(-1000 + Math.log(2), 12);
  });

  it("treat −Infinity as zero and an empty list as zero", () => {
    expect(logSumExp([])).toBe(Number.NEGATIVE_INFINITY);
    expect(logSumExp([Number.NEGATIVE_INFINITY, 0])).toBe(0);
    expect(logAddExp(Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
    expect(logAddExp(Number.NEGATIVE_INFINITY, 1)).toBe(1);
  });
});

describe("finiteExp", () => {
  it("is e^x, capped at the largest finite number", () => {
    expect(finiteExp(Math.log(3))).toBeCloseTo(3, 12);
    expect(finiteExp(1e6)).toBe(Number.MAX_VALUE);
    expect(finiteExp(Number.NEGATIVE_INFINITY)).toBe(0);
  });
});

describe("priors", () => {
  it("log-normal: one sign, weights summing to 1, median size at the centre", () => {
    const p = logNormalPrior(0.7, 0.5, 24, 1);
    expect(p.shifts).toHaveLength(24);
    expect(p.shifts.every((s) => s > 0)).toBe(true);
    expect(totalWeight(p.logWeights)).toBeCloseTo(1, 12);
    const sorted = [...p.shifts].sort((a, b) => a - b);
    expect(Math.sqrt((sorted[11] ?? 0) * (sorted[12] ?? 0))).toBeCloseTo(0.7, 6);
    expect(logNormalPrior(0.7, 0.5, 24, -1).shifts.every((s) => s < 0)).toBe(true);
  });

  it("half-normal: one sign, never exactly zero, most weight near zero, weights summing to 1", () => {
    const p = halfNormalPrior(0.01, 8, -1);
    expect(p.shifts.every((s) => s < 0)).toBe(true);
    expect(totalWeight(p.logWeights)).toBeCloseTo(1, 12);
    expect(Math.min(...p.shifts)).toBeGreaterThan(-0.04);
    expect(p.logWeights[0]).toBeGreaterThan(p.logWeights[7] ?? 0);
    expect(halfNormalPrior(0.01, 8, 1).shifts.every((s) => s > 0)).toBe(true);
  });

  it("mixtures keep every point and weigh the parts", () => {
    const m = mixPriors([
      { prior: halfNormalPrior(1, 4, 1), weight: 3 },
      { prior: logNormalPrior(1, 0.1, 2, 1), weight: 1 },
    ]);
    expect(m.shifts).toHaveLength(6);
    expect(totalWeight(m.logWeights)).toBeCloseTo(1, 12);
    expect(totalWeight(m.logWeights.slice(4))).toBeCloseTo(0.25, 12);
  });
});
