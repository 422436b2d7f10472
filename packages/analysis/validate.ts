import type { RevisionOutcomes } from "#core";

const isCount = (x: number): boolean => Number.isSafeInteger(x) && x >= 0;

/** What is wrong with outcomes a metric source returned, or null when they can be judged. */
export const outcomesProblem = (o: RevisionOutcomes): string | null => {
  if (!isCount(o.requests)) return `requests must be a non-negative integer, got ${o.requests}`;
  if (!isCount(o.serverErrors) || o.serverErrors > o.requests) {
    return `serverErrors must be an integer between 0 and requests (${o.requests}), got ${o.serverErrors}`;
  }
  const bounds = o.bucketBoundsMs;
  if (!bounds.every((b, i) => Number.isFinite(b) && b > 0 && (i === 0 || b > (bounds[i - 1] ?? 0)))) {
    return "bucketBoundsMs must be finite, positive and strictly increasing";
  }
  if (o.latencyBuckets.length !== bounds.length + 1) {
    return `latencyBuckets must have ${bounds.length + 1} counts (one per bound and +Inf), got ${o.latencyBuckets.length}`;
  }
  if (!o.latencyBuckets.every(isCount)) return "latencyBuckets must be non-negative integers";
  return null;
};
