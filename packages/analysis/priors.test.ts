import { describe, expect, it } from "vitest";
import { MixtureConfig } from "./config.ts";
import { errorPriors, latencyPriors } from "./priors.ts";

const mixture = MixtureConfig.parse({});
const weight = (logWeights: readonly number[], keep: (i: number) => boolean): number =>
  logWeights.reduce((s, w, i) => (keep(i) ? s + Math.exp(w) : s), 0);

describe("errorPriors", () => {
  const p = errorPriors(mixture);

  it("tilts failed requests towards the canary, around log(errorRateRatio)", () => {
    expect(p.bad.shifts.every((s) => s > 0)).toBe(true);
    const mean = p.bad.shifts.reduce((s, x, i) => s + x * Math.exp(p.bad.logWeights[i] ?? 0), 0);
    expect(mean).toBeGreaterThan(0.6);
    expect(mean).toBeLessThan(0.8);
  });

  it("pins the share with narrow shifts, four fifths of them the way a regression moves", () => {
    expect(Math.max(...p.good.shifts.map(Math.abs))).toBeLessThan(4 * 3 * mixture.shareScale + 1e-12);
    expect(weight(p.good.logWeights, (i) => (p.good.shifts[i] ?? 0) < 0)).toBeCloseTo(0.8, 12);
    expect(weight(p.good.logWeights, () => true)).toBeCloseTo(1, 12);
  });

  it("is built once per config object", () => {
    expect(errorPriors(mixture)).toBe(p);
    expect(errorPriors(MixtureConfig.parse({ errorRateRatio: 4 }))).not.toBe(p);
  });
});

describe("latencyPriors", () => {
  it("is one-sided both ways: slow requests towards the canary, fast ones away", () => {
    const p = latencyPriors(mixture);
    expect(p.bad.shifts.every((s) => s > 0)).toBe(true);
    expect(p.good.shifts.every((s) => s < 0)).toBe(true);
    expect(p.good.shifts).toEqual(p.bad.shifts.map((s) => -s));
  });
});
