import type { OutcomeSnapshot } from "#router";
import {
  bucketKey,
  checkBucketSeconds,
  latencyField,
  REQUESTS_FIELD,
  SERVER_ERRORS_FIELD,
  targetField,
  targetsKey,
} from "./outcome-keys.ts";
import type { HashIncrement, KeyValueStore } from "./store.ts";

export const DEFAULT_OUTCOME_BUCKET_SECONDS = 10;
/** A day: long enough for any canary window, short enough to keep a free Upstash database small. */
export const DEFAULT_OUTCOME_TTL_SECONDS = 86_400;

export interface OutcomeIncrementsOptions {
  /** When the counts were drained, in ms since the epoch: it picks their time bucket. */
  readonly now: number;
  readonly bucketSeconds?: number;
}

export interface FlushOutcomesOptions extends OutcomeIncrementsOptions {
  /** How long every touched key lives after this flush. */
  readonly ttlSeconds?: number;
}

/**
 * The hash increments that record a drained snapshot: one bucket hash per series, and the
 * revision's target index. All counts land in the bucket holding `now`; with flushes every
 * second and buckets of ten, a count is at most a flush interval late.
 */
export const outcomeIncrements = (
  snapshot: OutcomeSnapshot,
  { now, bucketSeconds = DEFAULT_OUTCOME_BUCKET_SECONDS }: OutcomeIncrementsOptions,
): HashIncrement[] => {
  checkBucketSeconds(bucketSeconds);
  const startSeconds = Math.floor(now / 1000 / bucketSeconds) * bucketSeconds;
  return snapshot.series.flatMap((series) => {
    const fields: Record<string, number> = {
      [REQUESTS_FIELD]: series.requests,
      [SERVER_ERRORS_FIELD]: series.serverErrors,
    };
    series.latencyBuckets.forEach((count, i) => {
      if (count !== 0) fields[latencyField(snapshot.bucketBoundsMs[i])] = count;
    });
    const { workload, revision, cloud, region } = series;
    return [
      { key: bucketKey({ workload, revision, cloud, region, bucketSeconds, startSeconds }), fields },
      { key: targetsKey(workload, revision), fields: { [targetField(cloud, region)]: series.requests } },
    ];
  });
};

/** Writes a router's drained counts to KV in one transaction. */
export const flushOutcomes = async (
  kv: KeyValueStore,
  snapshot: OutcomeSnapshot,
  { ttlSeconds = DEFAULT_OUTCOME_TTL_SECONDS, ...options }: FlushOutcomesOptions,
): Promise<void> => {
  const increments = outcomeIncrements(snapshot, options);
  if (increments.length > 0) await kv.incrementHashes(increments, ttlSeconds);
};
