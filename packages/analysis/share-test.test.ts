import { describe, expect, it } from "vitest";
import { DEFAULT_ANALYSIS_CONFIG } from "./config.ts";
import { logSumExp, softplus } from "./mixture.ts";
import { errorPriors, latencyPriors } from "./priors.ts";
import { binomialDraw, seededRandom } from "./random.ts";
import { type SharePriors, type Split, shareTest } from "./share-test.ts";

const errors = errorPriors(DEFAULT_ANALYSIS_CONFIG.mixture);
const latency = latencyPriors(DEFAULT_ANALYSIS_CONFIG.mixture);

/** log E(η) straight from the definition, for checking the search and the certificate. */
const logEAt = (splits: readonly Split[], priors: SharePriors, eta: number): number => {
  const base = softplus(eta);
  const mix = (p: SharePriors["bad"], c: number, g: number): number =>
    logSumExp(p.shifts.map((s, i) => (p.logWeights[i] ?? 0) + c * s - g * (softplus(eta + s) - base)));
  return logSumExp(
    splits.map(
      (s) => s.logWeight + mix(priors.bad, s.badCanary, s.bad) + mix(priors.good, s.goodCanary, s.good),
    ),
  );
};
const bruteInf = (splits: readonly Split[], priors: SharePriors): number => {
  let min = Number.POSITIVE_INFINITY;
  for (let eta = -6; eta <= 2; eta += 0.0002) min = Math.min(min, logEAt(splits, priors, eta));
  return min;
};
const errorSplit = (errC: number, err: number, reqC: number, req: number): Split => ({
  bad: err,
  badCanary: errC,
  good: req - err,
  goodCanary: reqC - errC,
  logWeight: 0,
});

describe("shareTest: the infimum over the traffic share", () => {
  const cases: [string, Split[], SharePriors][] = [
    ["errors, a doubled rate", [errorSplit(33, 177, 1480, 14_800)], errors],
    ["errors, rare on heavy traffic", [errorSplit(33, 177, 14_800, 148_000)], errors],
    ["errors, no difference", [errorSplit(6, 60, 600, 6000)], errors],
    [
      "latency, three bounds",
      [
        { bad: 3000, badCanary: 360, good: 3000, goodCanary: 240, logWeight: Math.log(1 / 3) },
        { bad: 1500, badCanary: 190, good: 4500, goodCanary: 410, logWeight: Math.log(1 / 3) },
        { bad: 600, badCanary: 80, good: 5400, goodCanary: 520, logWeight: Math.log(1 / 3) },
      ],
      latency,
    ],
  ];

  it.each(cases)("matches a brute-force minimum (%s)", (_, splits, priors) => {
    const brute = bruteInf(splits, priors);
    const found = shareTest(splits, priors, Number.POSITIVE_INFINITY);
    expect(found.exceeded).toBe(false);
    // The grid may miss the exact minimum by a hair; the search must land within 0.01 of it.
    expect(Math.abs(found.logE - brute)).toBeLessThan(0.01);
  });

  it.each(cases)("certifies only what the brute-force minimum supports (%s)", (_, splits, priors) => {
    const brute = bruteInf(splits, priors);
    const under = shareTest(splits, priors, brute - 0.5);
    expect(under.exceeded).toBe(true);
    expect(under.logE).toBeGreaterThanOrEqual(brute - 0.5);
    expect(under.logE).toBeLessThanOrEqual(brute + 1e-9);
    expect(shareTest(splits, priors, brute + 0.02).exceeded).toBe(false);
  });

  it("reports the share at the minimum and the split that carries the evidence", () => {
    const r = shareTest(cases[3]?.[1] ?? [], latency, Number.POSITIVE_INFINITY);
    expect(r.share).toBeGreaterThan(0.09);
    expect(r.share).toBeLessThan(0.11);
    expect(r.split).toBe(0);
  });

  it("grows with the canary's count among bad requests, all else equal", () => {
    const values = [10, 20, 30, 40].map(
      (c) => shareTest([errorSplit(c, 200, 2000, 20_000)], errors, 1e9).logE,
    );
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] ?? 0);
  });

  it("finds no evidence when the canary fails less, has no failures, or no one failed", () => {
    expect(shareTest([errorSplit(0, 200, 2000, 20_000)], errors, 1e9).logE).toBeLessThan(0);
    expect(shareTest([errorSplit(5, 200, 2000, 20_000)], errors, 1e9).logE).toBeLessThan(0);
    expect(shareTest([errorSplit(0, 0, 2000, 20_000)], errors, 1e9).logE).toBeLessThanOrEqual(1e-9);
    expect(shareTest([errorSplit(0, 0, 0, 0)], errors, 1e9).logE).toBeLessThanOrEqual(1e-9);
  });

  it("has nothing to say without splits", () => {
    expect(shareTest([], errors, 0)).toEqual({
      logE: Number.NEGATIVE_INFINITY,
      exceeded: false,
      share: 0,
      split: -1,
    });
  });
});

/** Ticks of `perTick` requests, 10 % to the canary; the first tick at which the test fires, or null. */
const firstAlarm = (
  random: ReturnType<typeof seededRandom>,
  ticks: number,
  perTick: number,
  canaryRate: number,
  stableRate: number,
  alpha: number,
): number | null => {
  let errC = 0;
  let err = 0;
  let reqC = 0;
  let req = 0;
  for (let t = 1; t <= ticks; t++) {
    const c = binomialDraw(random, perTick, 0.1);
    const ec = binomialDraw(random, c, canaryRate);
    reqC += c;
    req += perTick;
    errC += ec;
    err += ec + binomialDraw(random, perTick - c, stableRate);
    if (shareTest([errorSplit(errC, err, reqC, req)], errors, Math.log(1 / alpha)).exceeded) return t;
  }
  return null;
};

describe("shareTest: error guarantees, by simulation with fixed seeds", () => {
  it("fires in at most alpha of A/A runs, though it looks at every tick", () => {
    const random = seededRandom(2024);
    let alarms = 0;
    for (let run = 0; run < 300; run++)
      if (firstAlarm(random, 120, 100, 0.02, 0.02, 0.05) !== null) alarms += 1;
    // Expected at most 15 of 300; 27 would be 3.4 standard deviations above that.
    expect(alarms).toBeLessThanOrEqual(27);
  });

  it("almost never fires when the canary fails half as often as stable", () => {
    const random = seededRandom(7);
    let alarms = 0;
    for (let run = 0; run < 200; run++)
      if (firstAlarm(random, 120, 100, 0.01, 0.02, 0.05) !== null) alarms += 1;
    expect(alarms).toBeLessThanOrEqual(5);
  });

  it("catches a fivefold error rate quickly", () => {
    const random = seededRandom(11);
    const times = Array.from({ length: 100 }, () => firstAlarm(random, 120, 200, 0.05, 0.01, 0.005));
    expect(times.filter((t) => t !== null && t <= 60).length).toBeGreaterThanOrEqual(95);
  });
});
