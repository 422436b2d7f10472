import type { MixtureConfig } from "./config.ts";
import { halfNormalPrior, logNormalPrior, mixPriors } from "./mixture.ts";
import type { SharePriors } from "./share-test.ts";

/**
 * Errors: the canary's log-odds among failed requests rises by log(rate ratio), exactly, whatever the
 * error rate. Among error-free requests it hardly moves, so that group gets narrow priors that pin
 * the traffic share: a third, once and three times `shareScale` (rare errors on heavy traffic want
 * the narrow ones, frequent errors the wide ones), mostly on the side a regression moves it and a
 * fifth on the other, which stops the infimum from sliding to shares the good requests rule out.
 * For a canary that fails less than stable the bound still holds: at w equal to the good requests'
 * share every good factor is a martingale and the bad one a supermartingale (requests independent).
 */
const buildErrorPriors = (m: MixtureConfig): SharePriors => ({
  bad: logNormalPrior(Math.log(m.errorRateRatio), m.errorSpread, 12, 1),
  good: mixPriors(
    [1 / 3, 1, 3].flatMap((k) => [
      { prior: halfNormalPrior(k * m.shareScale, 6, -1), weight: 0.8 },
      { prior: halfNormalPrior(k * m.shareScale, 6, 1), weight: 0.2 },
    ]),
  ),
});

/**
 * Latency: among requests slower than a bound the canary's log-odds rises by log(slow share ratio);
 * among the faster ones it falls by about as much near the median. Both priors are one-sided, so for
 * a canary that is no slower at any bound every factor is a supermartingale at the true share, and
 * the false-rollback bound holds for it too, however the bounds are weighted.
 */
const buildLatencyPriors = (m: MixtureConfig): SharePriors => ({
  bad: logNormalPrior(Math.log(m.slowShareRatio), m.latencySpread, 10, 1),
  good: logNormalPrior(Math.log(m.slowShareRatio), m.latencySpread, 10, -1),
});

/** Priors depend only on the config, which a rollout reuses every tick, so build them once per config. */
const memo = (build: (m: MixtureConfig) => SharePriors): ((m: MixtureConfig) => SharePriors) => {
  const cache = new WeakMap<MixtureConfig, SharePriors>();
  return (m) => {
    let priors = cache.get(m);
    if (priors === undefined) {
      priors = build(m);
      cache.set(m, priors);
    }
    return priors;
  };
};

export const errorPriors = memo(buildErrorPriors);
export const latencyPriors = memo(buildLatencyPriors);
