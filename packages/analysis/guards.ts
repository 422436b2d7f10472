import type { RevisionOutcomes } from "#core";
import type { AnalysisConfig } from "./config.ts";
import { certainlySlowerThan, quantileMs } from "./histogram.ts";

export interface GuardCheck {
  readonly guard: "maxErrorRate" | "maxP99LatencyMs";
  readonly limit: number;
  /** The canary's error rate, or its p99 latency estimated from the histogram; null without requests. */
  readonly observed: number | null;
  readonly breached: boolean;
}

/**
 * Absolute limits on the canary, whatever stable does, on the cumulative counts. They are not part of
 * the alpha guarantee: they are service-level limits a release must never cross. They wait until the
 * canary has served `minRequests`, so that one error in the first three requests is not a 33 % rate.
 * The p99 limit fires only when more than 1 % of requests are certainly slower than it, that is in
 * buckets whose lower edge is at or above the limit; inside a bucket the histogram cannot tell.
 */
export const checkGuards = (canary: RevisionOutcomes, config: AnalysisConfig): GuardCheck[] => {
  const enough = canary.requests >= config.minRequests;
  const checks: GuardCheck[] = [];
  if (config.maxErrorRate !== undefined) {
    const observed = canary.requests > 0 ? canary.serverErrors / canary.requests : null;
    checks.push({
      guard: "maxErrorRate",
      limit: config.maxErrorRate,
      observed,
      breached: enough && observed !== null && observed > config.maxErrorRate,
    });
  }
  if (config.maxP99LatencyMs !== undefined) {
    const histogram = { boundsMs: canary.bucketBoundsMs, counts: canary.latencyBuckets };
    const total = canary.latencyBuckets.reduce((s, c) => s + c, 0);
    checks.push({
      guard: "maxP99LatencyMs",
      limit: config.maxP99LatencyMs,
      observed: quantileMs(histogram, 0.99),
      breached: enough && certainlySlowerThan(histogram, config.maxP99LatencyMs) > 0.01 * total,
    });
  }
  return checks;
};
