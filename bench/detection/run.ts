import { AnalysisConfig } from "../../packages/analysis/config.ts";
import { judgeCanary } from "../../packages/analysis/judge.ts";
import { seededRandom } from "../../packages/analysis/random.ts";
import { mannWhitneyZ, twoProportionZ } from "./fixed-horizon.ts";
import { type FlaggerThresholds, flaggerCheckFails } from "./flagger.ts";
import { normalQuantile } from "./normal.ts";
import {
  ALPHA,
  type Effect,
  ERROR_ALPHA,
  FLAGGER_INTERVAL_SECONDS,
  LATENCY_ALPHA,
  WINDOW_SECONDS,
} from "./scenario.ts";
import { simulateTraffic } from "./traffic.ts";

/** Seconds to the first `fail` of each judge in one run; null when it never failed. */
export interface RunResult {
  readonly ours: number | null;
  readonly fixedHorizon: number | null;
  /** The fixed-horizon tests applied at every tick up to their horizon, as people do. */
  readonly peeking: number | null;
  readonly flagger: number | null;
}

export interface RunSettings {
  readonly bounds: readonly number[];
  readonly horizonSeconds: number;
  readonly flagger: FlaggerThresholds;
}

/** A seed per (scenario, run), so results do not depend on how runs are shared among workers. */
export const runSeed = (base: number, scenario: number, run: number): number => {
  let h = (base ^ Math.imul(scenario + 1, 0x9e3779b1) ^ Math.imul(run + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
};

const config = AnalysisConfig.parse({ alpha: ALPHA });
const zError = normalQuantile(1 - ERROR_ALPHA);
const zLatency = normalQuantile(1 - LATENCY_ALPHA);

/** One simulated analysis window, judged by all three at once on the same requests. */
export const runOnce = (effect: Effect, seed: number, s: RunSettings): RunResult => {
  const traffic = simulateTraffic(seededRandom(seed), s.bounds, effect.canaryErrorRate, effect.latencyFactor);
  const { canary, stable } = traffic;
  let ours: number | null = null;
  let fixedHorizon: number | null = null;
  let peeking: number | null = null;
  let flagger: number | null = null;
  let last = { requests: 0, serverErrors: 0, latencyBuckets: new Array<number>(s.bounds.length + 1).fill(0) };
  for (let t = 1; t <= WINDOW_SECONDS; t++) {
    traffic.second();
    if (ours === null) {
      const verdict = judgeCanary({ stable, canary, config, final: t === WINDOW_SECONDS });
      if (verdict.status === "fail") ours = t;
    }
    if (t <= s.horizonSeconds) {
      const errorsFail =
        twoProportionZ(canary.serverErrors, canary.requests, stable.serverErrors, stable.requests) > zError;
      const latencyFails = mannWhitneyZ(canary.latencyBuckets, stable.latencyBuckets) > zLatency;
      if (peeking === null && (errorsFail || latencyFails)) peeking = t;
      if (t === s.horizonSeconds && (errorsFail || latencyFails)) fixedHorizon = t;
    }
    if (t % FLAGGER_INTERVAL_SECONDS === 0) {
      const buckets = canary.latencyBuckets.map((c, i) => c - (last.latencyBuckets[i] ?? 0));
      const fails = flaggerCheckFails(
        s.flagger,
        canary.requests - last.requests,
        canary.serverErrors - last.serverErrors,
        buckets,
        s.bounds,
      );
      if (flagger === null && fails) flagger = t;
      last = {
        requests: canary.requests,
        serverErrors: canary.serverErrors,
        latencyBuckets: [...canary.latencyBuckets],
      };
    }
    if (ours !== null && flagger !== null && t >= s.horizonSeconds) break;
  }
  return { ours, fixedHorizon, peeking, flagger };
};
