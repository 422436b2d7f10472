import type { RevisionOutcomes } from "#core";
import type { Random } from "../../packages/analysis/random.ts";
import { TRAFFIC } from "./scenario.ts";

/** Cumulative counts that the simulation adds to and the judges read. */
export interface Counts extends RevisionOutcomes {
  requests: number;
  serverErrors: number;
  readonly latencyBuckets: number[];
}

const emptyCounts = (bounds: readonly number[]): Counts => ({
  requests: 0,
  serverErrors: 0,
  bucketBoundsMs: bounds,
  latencyBuckets: new Array<number>(bounds.length + 1).fill(0),
});

/** The bucket a latency falls in: the first bound at or above it, or +Inf. */
export const bucketOf = (bounds: readonly number[], ms: number): number => {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= (bounds[mid] ?? 0)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
};

/** Standard normal draws by Box–Muller, using both values of each pair. */
export const normalSource = (random: Random): (() => number) => {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - random.next()));
    const theta = 2 * Math.PI * random.next();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
};

/**
 * Request outcomes, no HTTP: each second `requestsPerSecond` requests, each routed to the canary with
 * probability `canaryShare`, failing with its revision's error rate, its latency log-normal and
 * counted in a histogram over `bounds`, as a router would.
 */
export const simulateTraffic = (
  random: Random,
  bounds: readonly number[],
  canaryErrorRate: number,
  latencyFactor: number,
): { readonly canary: Counts; readonly stable: Counts; second(): void } => {
  const canary = emptyCounts(bounds);
  const stable = emptyCounts(bounds);
  const normal = normalSource(random);
  return {
    canary,
    stable,
    second() {
      for (let i = 0; i < TRAFFIC.requestsPerSecond; i++) {
        const toCanary = random.next() < TRAFFIC.canaryShare;
        const c = toCanary ? canary : stable;
        c.requests += 1;
        if (random.next() < (toCanary ? canaryErrorRate : TRAFFIC.stableErrorRate)) c.serverErrors += 1;
        const ms = TRAFFIC.medianMs * Math.exp(TRAFFIC.logSigma * normal()) * (toCanary ? latencyFactor : 1);
        const b = bucketOf(bounds, ms);
        c.latencyBuckets[b] = (c.latencyBuckets[b] ?? 0) + 1;
      }
    },
  };
};
