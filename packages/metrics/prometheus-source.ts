import { DevsimError, type MetricSource, type OutcomeQuery, type RevisionOutcomes } from "#core";
import { LATENCY_BUCKET_BOUNDS_MS } from "#router";
import { type PrometheusApiOptions, queryInstant, type Sample } from "./prometheus-api.ts";
import { selector, windowIncrease } from "./promql.ts";

// The names `renderOutcomeMetrics` in #router exposes.
const REQUESTS = "devsim_router_requests_total";
const SERVER_ERRORS = "devsim_router_server_errors_total";
const LATENCY_BUCKETS = "devsim_router_latency_seconds_bucket";

export interface PrometheusMetricSourceOptions extends PrometheusApiOptions {
  /** The bounds to report latency in; Prometheus buckets with other bounds are placed at the next one up. */
  readonly bucketBoundsMs?: readonly number[];
  /** Added to every selector, e.g. `{ job: "devsim-router" }` when other jobs scrape the same names. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The first reported bucket whose bound is at or above `boundMs` (seconds and back may lose a bit). */
const reportedBucket = (bucketBoundsMs: readonly number[], boundMs: number): number => {
  const index = bucketBoundsMs.findIndex((bound) => bound >= boundMs * (1 - 1e-9));
  return index === -1 ? bucketBoundsMs.length : index;
};

const leMs = (sample: Sample): number => {
  const le = sample.labels.le;
  const seconds = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
  if (le === undefined || le === "" || Number.isNaN(seconds)) {
    throw new DevsimError("unavailable", "Prometheus answered a latency bucket without a valid le", {
      labels: sample.labels,
    });
  }
  return seconds * 1000;
};

/** Cumulative Prometheus buckets (one sample per `le`) as per-bucket counts over our bounds. */
const toBuckets = (samples: readonly Sample[], bucketBoundsMs: readonly number[]): number[] => {
  const buckets = new Array<number>(bucketBoundsMs.length + 1).fill(0);
  const cumulative = samples.map((s) => ({ le: leMs(s), count: s.value })).sort((a, b) => a.le - b.le);
  let below = 0;
  for (const { le, count } of cumulative) {
    const index = reportedBucket(bucketBoundsMs, le);
    // Counts from increase() fallbacks are estimates and may dip; a bucket never goes negative.
    buckets[index] = (buckets[index] ?? 0) + Math.max(0, count - below);
    below = Math.max(below, count);
  }
  return buckets;
};

const total = (samples: readonly Sample[]): number => samples.reduce((sum, s) => sum + s.value, 0);

/**
 * A MetricSource over a Prometheus server that scrapes the routers' `/metrics`. Counts are what the
 * scrapes saw: a count lands in the window of the first scrape that shows it, so the window's edges
 * are as sharp as the scrape interval.
 */
export const prometheusMetricSource = ({
  bucketBoundsMs = LATENCY_BUCKET_BOUNDS_MS,
  labels = {},
  ...api
}: PrometheusMetricSourceOptions): MetricSource => {
  // Fails on a bad label name or bounds now rather than on every query.
  selector(REQUESTS, labels);
  if (!bucketBoundsMs.every((b, i) => Number.isFinite(b) && b > 0 && b > (bucketBoundsMs[i - 1] ?? 0))) {
    throw new DevsimError("invalid_input", "latency bucket bounds must be finite, positive and increasing", {
      bucketBoundsMs,
    });
  }

  return {
    outcomes: async (query: OutcomeQuery): Promise<RevisionOutcomes> => {
      const { workload, revision, since, until } = query;
      const windowMs = Math.round(until - since);
      if (!Number.isFinite(windowMs) || windowMs <= 0) {
        throw new DevsimError("invalid_input", "an outcome window needs since < until", { since, until });
      }
      const zero = (): RevisionOutcomes => ({
        requests: 0,
        serverErrors: 0,
        bucketBoundsMs: [...bucketBoundsMs],
        latencyBuckets: new Array<number>(bucketBoundsMs.length + 1).fill(0),
      });
      if (query.targets?.length === 0) return zero();

      const base = { ...labels, workload, revision: String(revision) };
      const matchers = query.targets?.map((t) => ({ ...base, cloud: t.cloud, region: t.region })) ?? [base];
      // One selector per target: a pair of labels cannot be matched as a set in one selector.
      const increase = (metric: string): string =>
        [
          ...new Set(
            matchers.map((m) => windowIncrease(selector(metric, m), selector(REQUESTS, m), windowMs)),
          ),
        ].join(" or ");

      const [requests, serverErrors, latency] = await Promise.all([
        queryInstant(api, `sum(${increase(REQUESTS)})`, until),
        queryInstant(api, `sum(${increase(SERVER_ERRORS)})`, until),
        queryInstant(api, `sum by (le) (${increase(LATENCY_BUCKETS)})`, until),
      ]);
      return {
        ...zero(),
        requests: total(requests),
        serverErrors: total(serverErrors),
        latencyBuckets: toBuckets(latency, bucketBoundsMs),
      };
    },
  };
};
