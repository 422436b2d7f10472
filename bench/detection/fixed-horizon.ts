import { normalQuantile } from "./normal.ts";

/**
 * The fixed-horizon baseline, of the kind Kayenta runs: each metric tested once, at the end of a
 * window sized in advance. Errors: the one-sided two-proportion z-test with pooled variance.
 * Latency: the one-sided Mann–Whitney U test (normal approximation, mid-ranks and the tie
 * correction, since histogram buckets are ties), on the same histograms our judge sees.
 */

/** z of the canary's error rate above stable's; 0 when nobody failed or a side has no requests. */
export const twoProportionZ = (
  canaryErrors: number,
  canary: number,
  stableErrors: number,
  stable: number,
): number => {
  if (canary === 0 || stable === 0) return 0;
  const pooled = (canaryErrors + stableErrors) / (canary + stable);
  if (pooled === 0 || pooled === 1) return 0;
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / canary + 1 / stable));
  return (canaryErrors / canary - stableErrors / stable) / se;
};

/** z of the Mann–Whitney U statistic for "canary slower than stable", from per-bucket counts. */
export const mannWhitneyZ = (canaryBuckets: readonly number[], stableBuckets: readonly number[]): number => {
  const nc = canaryBuckets.reduce((s, c) => s + c, 0);
  const ns = stableBuckets.reduce((s, c) => s + c, 0);
  const n = nc + ns;
  if (nc === 0 || ns === 0) return 0;
  // U counts (canary, stable) pairs with the canary slower, ties counting one half.
  let u = 0;
  let stableBelow = 0;
  let ties = 0;
  canaryBuckets.forEach((c, k) => {
    const s = stableBuckets[k] ?? 0;
    u += c * (stableBelow + s / 2);
    stableBelow += s;
    const t = c + s;
    ties += t * t * t - t;
  });
  const variance = ((nc * ns) / 12) * (n + 1 - ties / (n * (n - 1)));
  return variance > 0 ? (u - (nc * ns) / 2) / Math.sqrt(variance) : 0;
};

/**
 * Seconds of traffic the z-test needs for `power` against `canaryRate` vs `stableRate` at one-sided
 * level `alpha`, with `canaryPerSecond` and `stablePerSecond` requests (Fleiss' formula for unequal
 * groups, without continuity correction, matching the test as run).
 */
export const horizonSeconds = (
  stableRate: number,
  canaryRate: number,
  canaryPerSecond: number,
  stablePerSecond: number,
  alpha: number,
  power: number,
): number => {
  const pooled =
    (canaryPerSecond * canaryRate + stablePerSecond * stableRate) / (canaryPerSecond + stablePerSecond);
  const nullSd = Math.sqrt(pooled * (1 - pooled) * (1 / canaryPerSecond + 1 / stablePerSecond));
  const altSd = Math.sqrt(
    (canaryRate * (1 - canaryRate)) / canaryPerSecond + (stableRate * (1 - stableRate)) / stablePerSecond,
  );
  const root =
    (normalQuantile(1 - alpha) * nullSd + normalQuantile(power) * altSd) / (canaryRate - stableRate);
  return Math.ceil(root * root);
};
