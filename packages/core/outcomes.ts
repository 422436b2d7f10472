import type { Cloud } from "./cloud.ts";

/**
 * What real users saw of one revision over a window: requests, responses with status 5xx (and
 * backends the router could not reach), and a latency histogram. Counts only ever add up, so
 * windows and targets merge by adding.
 */
export interface RevisionOutcomes {
  readonly requests: number;
  readonly serverErrors: number;
  /** Upper bounds in ms of the finite buckets; one +Inf bucket follows them. */
  readonly bucketBoundsMs: readonly number[];
  /** Per-bucket counts (not cumulative), `bucketBoundsMs.length + 1` of them. */
  readonly latencyBuckets: readonly number[];
}

export interface OutcomeQuery {
  readonly workload: string;
  readonly revision: number;
  /** Only these targets; all of the revision's targets when absent. */
  readonly targets?: readonly { readonly cloud: Cloud; readonly region: string }[];
  /** Window start and end, in ms since the epoch. */
  readonly since: number;
  readonly until: number;
}

/**
 * Where analysis reads outcomes from: the routers' counters in KV, or a Prometheus server. Throws
 * when the source cannot answer; analysis turns that into an `error` verdict, never a `fail`.
 */
export interface MetricSource {
  outcomes(query: OutcomeQuery): Promise<RevisionOutcomes>;
}
