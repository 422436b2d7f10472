import { type Backend, DevsimError } from "#core";

/** What outcomes are counted per: one revision of a workload in one target. */
export interface OutcomeKey extends Pick<Backend, "cloud" | "region" | "revision"> {
  readonly workload: string;
}

/** Upper bounds (inclusive, like Prometheus `le`) of the finite latency buckets; one +Inf bucket follows. */
export const LATENCY_BUCKET_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/** The counts for one key since the last drain. */
export interface OutcomeSeries extends OutcomeKey {
  readonly requests: number;
  /** Responses with status >= 500, including the router's own 502s for an unreachable backend. */
  readonly serverErrors: number;
  /**
   * Per-bucket (not cumulative) counts, one per bound and a last one for +Inf, so snapshots add
   * element-wise and a running sum turns them into Prometheus buckets.
   */
  readonly latencyBuckets: readonly number[];
  readonly latencySumMs: number;
}

/** Plain JSON-serialisable counts; the +Inf bound is implied, as JSON has no Infinity. */
export interface OutcomeSnapshot {
  readonly bucketBoundsMs: readonly number[];
  readonly series: readonly OutcomeSeries[];
}

export interface OutcomeCountersOptions {
  /** Finite, positive and strictly increasing. */
  readonly bucketBoundsMs?: readonly number[];
}

interface Counts {
  readonly key: OutcomeKey;
  requests: number;
  serverErrors: number;
  readonly buckets: number[];
  sumMs: number;
}

/** A series' key in the map; workload names, clouds and regions hold no NUL. */
const seriesId = (key: OutcomeKey): string => `${key.workload}\0${key.cloud}\0${key.region}\0${key.revision}`;

const checkBounds = (bounds: readonly number[]): void => {
  const ok = bounds.every((b, i) => Number.isFinite(b) && b > 0 && (i === 0 || b > (bounds[i - 1] ?? 0)));
  if (!ok) {
    throw new DevsimError("invalid_input", "latency bucket bounds must be finite, positive and increasing", {
      bucketBoundsMs: bounds,
    });
  }
};

/**
 * Counts the router's outcomes per (workload, cloud, region, revision): requests, 5xx and a
 * latency histogram. Pure and synchronous; a flusher calls `drain()` now and then to batch the
 * counts out.
 *
 * @example
 * const counters = new OutcomeCounters()
 * counters.record({ workload: "shop", cloud: "aws", region: "us-east-1", revision: 3 }, 200, 12.5)
 * await kv.add(counters.drain())
 */
export class OutcomeCounters {
  readonly bucketBoundsMs: readonly number[];
  #counts = new Map<string, Counts>();

  constructor({ bucketBoundsMs = LATENCY_BUCKET_BOUNDS_MS }: OutcomeCountersOptions = {}) {
    checkBounds(bucketBoundsMs);
    this.bucketBoundsMs = [...bucketBoundsMs];
  }

  /** A latency that is negative or not finite counts as 0 ms, so one bad clock reading cannot poison the sum. */
  record(key: OutcomeKey, status: number, latencyMs: number): void {
    const id = seriesId(key);
    let counts = this.#counts.get(id);
    if (counts === undefined) {
      const { workload, cloud, region, revision } = key;
      counts = {
        key: { workload, cloud, region, revision },
        requests: 0,
        serverErrors: 0,
        buckets: new Array<number>(this.bucketBoundsMs.length + 1).fill(0),
        sumMs: 0,
      };
      this.#counts.set(id, counts);
    }
    const latency = Number.isFinite(latencyMs) && latencyMs > 0 ? latencyMs : 0;
    const bounds = this.bucketBoundsMs;
    let bucket = 0;
    while (bucket < bounds.length && latency > (bounds[bucket] ?? 0)) bucket += 1;
    counts.requests += 1;
    if (status >= 500) counts.serverErrors += 1;
    counts.buckets[bucket] = (counts.buckets[bucket] ?? 0) + 1;
    counts.sumMs += latency;
  }

  /**
   * Adds another counter's snapshot to these counts, so one stream of outcomes can be drained in
   * batches and still be kept whole. Its bucket bounds must be these.
   */
  merge(snapshot: OutcomeSnapshot): void {
    const same =
      snapshot.bucketBoundsMs.length === this.bucketBoundsMs.length &&
      snapshot.bucketBoundsMs.every((b, i) => b === this.bucketBoundsMs[i]);
    if (!same) {
      throw new DevsimError("invalid_input", "cannot merge outcomes counted in other latency buckets", {
        bucketBoundsMs: snapshot.bucketBoundsMs,
      });
    }
    for (const s of snapshot.series) {
      const { workload, cloud, region, revision } = s;
      const id = seriesId(s);
      const counts = this.#counts.get(id) ?? {
        key: { workload, cloud, region, revision },
        requests: 0,
        serverErrors: 0,
        buckets: new Array<number>(this.bucketBoundsMs.length + 1).fill(0),
        sumMs: 0,
      };
      counts.requests += s.requests;
      counts.serverErrors += s.serverErrors;
      s.latencyBuckets.forEach((n, i) => {
        counts.buckets[i] = (counts.buckets[i] ?? 0) + n;
      });
      counts.sumMs += s.latencySumMs;
      this.#counts.set(id, counts);
    }
  }

  /** A copy of the counts so far; later records do not change it. */
  snapshot(): OutcomeSnapshot {
    return {
      bucketBoundsMs: [...this.bucketBoundsMs],
      series: Array.from(this.#counts.values(), (c) => ({
        ...c.key,
        requests: c.requests,
        serverErrors: c.serverErrors,
        latencyBuckets: [...c.buckets],
        latencySumMs: c.sumMs,
      })),
    };
  }

  /** The counts so far, which then start again from zero. */
  drain(): OutcomeSnapshot {
    const snapshot = this.snapshot();
    this.#counts.clear();
    return snapshot;
  }
}
