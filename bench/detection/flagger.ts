import { quantileMs } from "../../packages/analysis/histogram.ts";
import type { Random } from "../../packages/analysis/random.ts";
import { bucketOf, normalSource } from "./traffic.ts";

/**
 * The Flagger-style baseline: every 60 s (Flagger's default interval) it computes the canary's error
 * rate and p99 latency (histogram_quantile over the histogram) over the last interval and rolls back
 * at the first check over a threshold (threshold 1). It looks at the canary alone, never at stable.
 */
export interface FlaggerThresholds {
  /** Fail when an interval's error rate is above this. */
  readonly maxErrorRate: number;
  /** Fail when an interval's p99 latency is above this. */
  readonly maxP99Ms: number;
  /** The A/A chance that one check fails on errors or on latency, as calibrated. */
  readonly errorCheckFalseRate: number;
  readonly latencyCheckFalseRate: number;
}

const logFactorials = (n: number): Float64Array => {
  const f = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) f[k] = (f[k - 1] ?? 0) + Math.log(k);
  return f;
};

/**
 * P(an interval's canary error rate > threshold) when canary and stable fail alike, exactly: the
 * canary serves Binomial(requests, share) requests and fails each with `errorRate`.
 */
export const errorCheckFalseRate = (
  threshold: number,
  requests: number,
  share: number,
  errorRate: number,
): number => {
  const lf = logFactorials(requests);
  const logPmf = (n: number, k: number, p: number): number =>
    (lf[n] ?? 0) - (lf[k] ?? 0) - (lf[n - k] ?? 0) + k * Math.log(p) + (n - k) * Math.log1p(-p);
  let total = 0;
  for (let n = 1; n <= requests; n++) {
    const pn = Math.exp(logPmf(requests, n, share));
    if (pn < 1e-15) continue;
    let tail = 0;
    for (let k = Math.floor(threshold * n) + 1; k <= n; k++) {
      const pk = Math.exp(logPmf(n, k, errorRate));
      tail += pk;
      if (pk < 1e-18 && k > errorRate * n) break;
    }
    total += pn * tail;
  }
  return total;
};

/** The lowest error-rate threshold (in steps of 0.01 %) whose per-check A/A false rate is at most `perCheck`. */
export const calibrateErrorThreshold = (
  perCheck: number,
  requests: number,
  share: number,
  errorRate: number,
): { threshold: number; falseRate: number } => {
  for (let bp = Math.round(errorRate * 10_000); bp <= 10_000; bp++) {
    const threshold = bp / 10_000;
    const falseRate = errorCheckFalseRate(threshold, requests, share, errorRate);
    if (falseRate <= perCheck) return { threshold, falseRate };
  }
  return { threshold: 1, falseRate: 0 };
};

/**
 * The p99 threshold whose per-check A/A false rate is `perCheck`: the (1 − perCheck) quantile of an
 * interval's p99 estimate over `intervals` simulated A/A intervals (the p99 estimate from a
 * histogram has no closed form).
 */
export const calibrateLatencyThreshold = (
  random: Random,
  perCheck: number,
  intervals: number,
  requests: number,
  share: number,
  medianMs: number,
  logSigma: number,
  bounds: readonly number[],
): { threshold: number; falseRate: number } => {
  const normal = normalSource(random);
  const p99s = new Float64Array(intervals);
  const counts = new Array<number>(bounds.length + 1);
  const logMiss = Math.log1p(-share);
  for (let i = 0; i < intervals; i++) {
    counts.fill(0);
    // Jump from one canary request to the next: the gaps between them are geometric.
    for (let r = Math.floor(Math.log(1 - random.next()) / logMiss); r < requests; ) {
      const b = bucketOf(bounds, medianMs * Math.exp(logSigma * normal()));
      counts[b] = (counts[b] ?? 0) + 1;
      r += 1 + Math.floor(Math.log(1 - random.next()) / logMiss);
    }
    p99s[i] = quantileMs({ boundsMs: bounds, counts }, 0.99) ?? 0;
  }
  p99s.sort();
  const threshold = p99s[Math.min(intervals - 1, Math.floor((1 - perCheck) * intervals))] ?? 0;
  const falseRate = p99s.filter((x) => x > threshold).length / intervals;
  return { threshold, falseRate };
};

/** Whether one interval's canary counts fail a check. */
export const flaggerCheckFails = (
  t: FlaggerThresholds,
  requests: number,
  serverErrors: number,
  latencyBuckets: readonly number[],
  bounds: readonly number[],
): boolean => {
  if (requests === 0) return true; // Flagger treats "no values" as a failed check.
  if (serverErrors / requests > t.maxErrorRate) return true;
  return (quantileMs({ boundsMs: bounds, counts: latencyBuckets }, 0.99) ?? 0) > t.maxP99Ms;
};
