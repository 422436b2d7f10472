import type { RevisionOutcomes } from "#core";
import type { MixtureConfig } from "./config.ts";
import { onSharedBounds } from "./histogram.ts";
import { finiteExp } from "./mixture.ts";
import { latencyPriors } from "./priors.ts";
import { type Split, shareTest } from "./share-test.ts";

export interface LatencyTestResult {
  /** The e-process: the evidence that the canary is slower (a certified lower bound once it fails). */
  readonly eValue: number;
  /** The e-value that fails the canary: 1 / (the latency test's part of alpha). */
  readonly threshold: number;
  readonly regression: boolean;
  /** How many bucket bounds both revisions' histograms share; the test compares at those. */
  readonly boundsCompared: number;
  /** The bound carrying most of the evidence, and each revision's share of requests slower than it. */
  readonly boundMs: number | null;
  readonly canarySlowerShare: number | null;
  readonly stableSlowerShare: number | null;
}

/** Splits where either side holds less than this share of the requests add cost and almost no power. */
const MIN_SIDE_SHARE = 0.002;

/**
 * Is the canary slower than stable? For every bucket bound b both histograms share, the requests
 * slower than b form the bad group of a share test (share-test.ts), weighted 1/(number of shared
 * bounds), and the test is the mixture over bounds. Like Lindon, Sanden and Shirikian ("Rapid
 * Regression Detection in Software Deployments through Sequential Testing", KDD 2022) it is a
 * sequential test of stochastic order, but on the counts slower than each bound rather than with
 * confidence sequences on quantiles (Howard and Ramdas), because a histogram gives those counts
 * exactly while quantiles inside a bucket are only interpolated.
 *
 * Why bucketed data is enough: a histogram counts exactly how many requests were slower than each of
 * its bounds, and the test uses only those counts, so nothing is estimated inside a bucket. The
 * weights are fixed by the bucket layout before any data arrives, so looking at every bound costs no
 * more than the mixture says, unlike picking the bound that looks worst. Leaving out bounds with
 * almost no requests on one side only removes terms from a sum of non-negative ones, which can
 * lower the e-value but never raise it. It detects a canary stochastically slower at some bound:
 * a shifted median moves the share slower than the bounds near it, a slower tail the bounds above.
 */
export const latencyTest = (
  canary: RevisionOutcomes,
  stable: RevisionOutcomes,
  alpha: number,
  mixture: MixtureConfig,
): LatencyTestResult => {
  const shared = onSharedBounds(
    { boundsMs: canary.bucketBoundsMs, counts: canary.latencyBuckets },
    { boundsMs: stable.bucketBoundsMs, counts: stable.latencyBuckets },
  );
  const canaryTotal = shared.a.reduce((s, c) => s + c, 0);
  const total = canaryTotal + shared.b.reduce((s, c) => s + c, 0);
  const logWeight = -Math.log(Math.max(1, shared.boundsMs.length));
  const splits: Split[] = [];
  const splitBounds: number[] = [];
  let canaryAtOrBelow = 0;
  let stableAtOrBelow = 0;
  shared.boundsMs.forEach((boundMs, k) => {
    canaryAtOrBelow += shared.a[k] ?? 0;
    stableAtOrBelow += shared.b[k] ?? 0;
    const good = canaryAtOrBelow + stableAtOrBelow;
    const bad = total - good;
    if (good === 0 || bad === 0 || Math.min(good, bad) < MIN_SIDE_SHARE * total) return;
    splits.push({
      bad,
      badCanary: canaryTotal - canaryAtOrBelow,
      good,
      goodCanary: canaryAtOrBelow,
      logWeight,
    });
    splitBounds.push(boundMs);
  });
  const result = shareTest(splits, latencyPriors(mixture), Math.log(1 / alpha));
  const deciding = splits[result.split];
  const stableTotal = total - canaryTotal;
  return {
    eValue: finiteExp(result.logE),
    threshold: 1 / alpha,
    regression: result.exceeded,
    boundsCompared: shared.boundsMs.length,
    boundMs: splitBounds[result.split] ?? null,
    canarySlowerShare: deciding && canaryTotal > 0 ? deciding.badCanary / canaryTotal : null,
    stableSlowerShare: deciding && stableTotal > 0 ? (deciding.bad - deciding.badCanary) / stableTotal : null,
  };
};
