import { type Cloud, DevsimError, type MetricSource, type OutcomeQuery, type RevisionOutcomes } from "#core";
import { LATENCY_BUCKET_BOUNDS_MS } from "#router";
import { DEFAULT_OUTCOME_BUCKET_SECONDS } from "./outcome-flush.ts";
import {
  bucketKey,
  checkBucketSeconds,
  latencyFieldBound,
  parseTargetField,
  REQUESTS_FIELD,
  SERVER_ERRORS_FIELD,
  targetField,
  targetsKey,
} from "./outcome-keys.ts";
import type { KeyValueStore } from "./store.ts";

export interface KvMetricSourceOptions {
  /** Must equal the flushers' `bucketSeconds`. */
  readonly bucketSeconds?: number;
  /** The bounds to report latency in; stored buckets with other bounds are placed by `foldBucket`. */
  readonly bucketBoundsMs?: readonly number[];
  /** Refuses windows longer than this many buckets, which would read too many keys at once. */
  readonly maxBuckets?: number;
}

/**
 * The index of the reported bucket a stored bucket's counts go to: the first bound at or above the
 * stored one, so a latency is never reported as faster than it was.
 */
export const foldBucket = (bucketBoundsMs: readonly number[], storedBoundMs: number): number => {
  // Bounds that went through seconds and back may be off in the last bit.
  const index = bucketBoundsMs.findIndex((bound) => bound >= storedBoundMs * (1 - 1e-9));
  return index === -1 ? bucketBoundsMs.length : index;
};

/**
 * A MetricSource over the routers' counters in KV (see `outcome-keys.ts` for the layout). A window
 * is widened to whole buckets: every bucket that overlaps [since, until) counts in full, so an
 * answer may cover up to one bucket more at each end than asked (canary and baseline alike).
 */
export const kvMetricSource = (
  kv: KeyValueStore,
  {
    bucketSeconds = DEFAULT_OUTCOME_BUCKET_SECONDS,
    bucketBoundsMs = LATENCY_BUCKET_BOUNDS_MS,
    maxBuckets = 2_160,
  }: KvMetricSourceOptions = {},
): MetricSource => {
  checkBucketSeconds(bucketSeconds);
  if (!bucketBoundsMs.every((b, i) => Number.isFinite(b) && b > 0 && b > (bucketBoundsMs[i - 1] ?? 0))) {
    throw new DevsimError("invalid_input", "latency bucket bounds must be finite, positive and increasing", {
      bucketBoundsMs,
    });
  }
  const bucketMs = bucketSeconds * 1000;

  const targetsOf = async (query: OutcomeQuery): Promise<{ cloud: Cloud; region: string }[]> => {
    if (query.targets) {
      // A target named twice must not count twice.
      const unique = new Map(query.targets.map((t) => [targetField(t.cloud, t.region), t]));
      return [...unique.values()];
    }
    const [index = {}] = await kv.readHashes([targetsKey(query.workload, query.revision)]);
    return Object.keys(index).flatMap((field) => parseTargetField(field) ?? []);
  };

  return {
    outcomes: async (query): Promise<RevisionOutcomes> => {
      const { workload, revision, since, until } = query;
      if (!Number.isFinite(since) || !Number.isFinite(until) || since >= until) {
        throw new DevsimError("invalid_input", "an outcome window needs since < until", { since, until });
      }
      const first = Math.floor(since / bucketMs);
      const last = Math.ceil(until / bucketMs) - 1;
      if (last - first + 1 > maxBuckets) {
        throw new DevsimError("invalid_input", `an outcome window may span at most ${maxBuckets} buckets`, {
          since,
          until,
          bucketSeconds,
        });
      }
      const keys = (await targetsOf(query)).flatMap(({ cloud, region }) =>
        Array.from({ length: last - first + 1 }, (_, i) =>
          bucketKey({
            workload,
            revision,
            cloud,
            region,
            bucketSeconds,
            startSeconds: (first + i) * bucketSeconds,
          }),
        ),
      );
      const latencyBuckets = new Array<number>(bucketBoundsMs.length + 1).fill(0);
      let requests = 0;
      let serverErrors = 0;
      for (const hash of await kv.readHashes(keys)) {
        for (const [field, count] of Object.entries(hash)) {
          if (field === REQUESTS_FIELD) requests += count;
          else if (field === SERVER_ERRORS_FIELD) serverErrors += count;
          else {
            const bound = latencyFieldBound(field);
            if (bound === undefined) continue;
            const index = foldBucket(bucketBoundsMs, bound);
            latencyBuckets[index] = (latencyBuckets[index] ?? 0) + count;
          }
        }
      }
      return { requests, serverErrors, bucketBoundsMs: [...bucketBoundsMs], latencyBuckets };
    },
  };
};
