/**
 * Detection benchmark: how fast each judge fails a bad canary, and how often it fails a good one.
 *
 *   node_modules/.bin/node bench/detection.ts [--runs 1000] [--aa-runs 2000] [--seed 20240601] [--workers 2]
 *
 * Simulated request outcomes (no HTTP): 200 requests/s, each sent to the canary with probability
 * 10 %; stable fails 1 % of requests; latency is log-normal with a 40 ms median (σ of log 0.5, so
 * p99 ≈ 128 ms), counted in histograms over RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS. Each run is one
 * analysis window judged by all three judges on the same requests, one look per second:
 *
 * - ours: `judgeCanary` with alpha = 0.01 (0.005 to errors, 0.005 to latency), looking every second
 *   for 300 s. Its false-rollback bound holds by construction (Ville's inequality); the measured
 *   rate is lower because one look per second sees only part of the martingale's path.
 * - fixed-horizon (Kayenta's kind): a one-sided two-proportion z-test on errors and a one-sided
 *   Mann–Whitney U test on latency, each at level 0.005, looked at once, at the horizon that gives
 *   the z-test 80 % power at 2 % vs 1 % (Fleiss' formula). Calibrated by construction: each test's
 *   size is its level (up to the normal approximation), so at most 0.01 together. Also shown looked
 *   at every second up to that horizon, as people do, with the same thresholds.
 * - Flagger-style: every 60 s (its default interval), the canary's error rate and p99 over the last
 *   interval against fixed thresholds, rolling back on the first failed check (threshold 1), over the
 *   same 300 s (five checks). Calibrated to the same false-rollback rate: the error-rate threshold is
 *   the lowest whose chance of failing any of the five checks in an A/A run is at most 0.005,
 *   computed exactly from the binomial counts of an interval; the p99 threshold is the quantile of an
 *   interval's A/A p99 estimate that gives 0.005 over five checks, from 60,000 simulated intervals
 *   on their own seed. Real Flagger thresholds are set by hand; these are the best it could get.
 *
 * Times are to the first `fail` verdict; a run that never failed counts as never, so a median or p90
 * of "never" means fewer than half or 90 % of runs failed within the judge's window.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS } from "../packages/analysis/buckets.ts";
import { seededRandom } from "../packages/analysis/random.ts";
import { horizonSeconds } from "./detection/fixed-horizon.ts";
import {
  calibrateErrorThreshold,
  calibrateLatencyThreshold,
  type FlaggerThresholds,
} from "./detection/flagger.ts";
import { cell, failShare, falseRollbacks, timeQuantile } from "./detection/report.ts";
import type { RunResult, RunSettings } from "./detection/run.ts";
import {
  AA,
  ALPHA,
  EFFECTS,
  type Effect,
  ERROR_ALPHA,
  FLAGGER_INTERVAL_SECONDS,
  LATENCY_ALPHA,
  TRAFFIC,
  WINDOW_SECONDS,
} from "./detection/scenario.ts";
import type { Job, WorkerSetup } from "./detection/worker.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000" },
    "aa-runs": { type: "string", default: "2000" },
    seed: { type: "string", default: "20240601" },
    workers: { type: "string", default: String(Math.min(2, os.availableParallelism())) },
  },
});
const runs = Number(values.runs);
const aaRuns = Number(values["aa-runs"]);
const seed = Number(values.seed);
const workers = Math.max(1, Number(values.workers));
const log = (message: string): void => {
  process.stderr.write(`[detection] ${message}\n`);
};
const started = performance.now();
/** Simulated A/A intervals for the p99 threshold: about 60 beyond it, enough to pin it within a few %. */
const CALIBRATION_INTERVALS = 60_000;

// Calibration and sizing, before any run.
const bounds = RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS;
const canaryPerSecond = TRAFFIC.requestsPerSecond * TRAFFIC.canaryShare;
const stablePerSecond = TRAFFIC.requestsPerSecond - canaryPerSecond;
const horizon = horizonSeconds(
  TRAFFIC.stableErrorRate,
  0.02,
  canaryPerSecond,
  stablePerSecond,
  ERROR_ALPHA,
  0.8,
);
const checks = WINDOW_SECONDS / FLAGGER_INTERVAL_SECONDS;
const intervalRequests = TRAFFIC.requestsPerSecond * FLAGGER_INTERVAL_SECONDS;
log(`fixed horizon ${horizon} s; calibrating the Flagger-style thresholds…`);
const errorCheck = calibrateErrorThreshold(
  1 - (1 - ERROR_ALPHA) ** (1 / checks),
  intervalRequests,
  TRAFFIC.canaryShare,
  TRAFFIC.stableErrorRate,
);
const latencyCheck = calibrateLatencyThreshold(
  seededRandom(seed ^ 0x5f3759df),
  1 - (1 - LATENCY_ALPHA) ** (1 / checks),
  CALIBRATION_INTERVALS,
  intervalRequests,
  TRAFFIC.canaryShare,
  TRAFFIC.medianMs,
  TRAFFIC.logSigma,
  bounds,
);
const flagger: FlaggerThresholds = {
  maxErrorRate: errorCheck.threshold,
  maxP99Ms: latencyCheck.threshold,
  errorCheckFalseRate: errorCheck.falseRate,
  latencyCheckFalseRate: latencyCheck.falseRate,
};
log(
  `Flagger-style thresholds: error rate > ${(100 * flagger.maxErrorRate).toFixed(2)} % ` +
    `(per check ${flagger.errorCheckFalseRate.toExponential(2)}), p99 > ${flagger.maxP99Ms.toFixed(1)} ms ` +
    `(per check ${flagger.latencyCheckFalseRate.toExponential(2)})`,
);

// The runs, shared among workers in batches.
const settings: RunSettings = { bounds, horizonSeconds: horizon, flagger };
const scenarios: { effect: Effect; runs: number }[] = [
  { effect: AA, runs: aaRuns },
  ...EFFECTS.map((effect) => ({ effect, runs })),
];
const jobs: Job[] = [];
const batch = 50;
scenarios.forEach((s, scenario) => {
  for (let from = 0; from < s.runs; from += batch) {
    jobs.push({ scenario, effect: s.effect, from, to: Math.min(s.runs, from + batch) });
  }
});
interface Pending {
  resolve(reply: { results: RunResult[] }): void;
  reject(error: unknown): void;
}
const results: RunResult[][] = scenarios.map((s) => new Array<RunResult>(s.runs));
const done = scenarios.map(() => 0);
let next = 0;
await Promise.all(
  Array.from({ length: workers }, async () => {
    const setup: WorkerSetup = { seed, settings };
    const worker = new Worker(new URL("./detection/worker.ts", import.meta.url), { workerData: setup });
    // One listener each for the worker's life; every job waits on the reply to it.
    let pending: Pending | null = null;
    worker.on("message", (reply: { results: RunResult[] }) => pending?.resolve(reply));
    worker.on("error", (error: unknown) => pending?.reject(error));
    try {
      for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
        const current = job;
        const reply = await new Promise<{ results: RunResult[] }>((resolve, reject) => {
          pending = { resolve, reject };
          worker.postMessage(current);
        });
        reply.results.forEach((r, i) => {
          (results[current.scenario] as RunResult[])[current.from + i] = r;
        });
        done[current.scenario] = (done[current.scenario] ?? 0) + reply.results.length;
        const s = scenarios[current.scenario];
        if (s && (done[current.scenario] === s.runs || (done[current.scenario] ?? 0) % 250 === 0)) {
          log(`${s.effect.name}: ${done[current.scenario]}/${s.runs} runs`);
        }
      }
    } finally {
      await worker.terminate();
    }
  }),
);

// The table, in Markdown so it can go into the README as printed.
const [aa = [], ...effects] = results;
const lines = [
  `Canary detection: ${TRAFFIC.requestsPerSecond} requests/s, ${100 * TRAFFIC.canaryShare} % to the canary, ` +
    `stable error rate ${100 * TRAFFIC.stableErrorRate} %, latency log-normal (median ${TRAFFIC.medianMs} ms, ` +
    `σ ${TRAFFIC.logSigma}), one look per second; alpha ${ALPHA} for every judge; ${runs} runs per effect, ` +
    `${aaRuns} A/A runs, seed ${seed}.`,
  `Our judge and the Flagger-style check watch ${WINDOW_SECONDS} s; the fixed-horizon test looks once at ` +
    `${horizon} s (80 % power at 2 % vs 1 %). Flagger-style thresholds, calibrated: error rate > ` +
    `${(100 * flagger.maxErrorRate).toFixed(2)} %, p99 > ${flagger.maxP99Ms.toFixed(1)} ms per 60 s interval.`,
  "",
  `| effect on the canary | ours: median / p90 time to fail (runs failed) | fixed-horizon at ${horizon} s | Flagger-style, 60 s checks |`,
  "| --- | --- | --- | --- |",
  ...EFFECTS.map(
    (e, i) =>
      `| ${e.name} | ${cell(effects[i] ?? [], "ours")} | ${cell(effects[i] ?? [], "fixedHorizon")} | ${cell(effects[i] ?? [], "flagger")} |`,
  ),
  `| **false rollbacks** in ${aaRuns} A/A runs (bound ${100 * ALPHA} %) | ${falseRollbacks(aa, "ours")} | ${falseRollbacks(aa, "fixedHorizon")} | ${falseRollbacks(aa, "flagger")} |`,
  `| fixed-horizon tests looked at every second up to ${horizon} s | | ${falseRollbacks(aa, "peeking")} | |`,
];

// The done-when, checked on these numbers.
const errorEffect = (rate: number): RunResult[] =>
  effects[EFFECTS.findIndex((e) => e.canaryErrorRate === rate && e.latencyFactor === 1)] ?? [];
const median = (rate: number, judge: keyof RunResult): number =>
  timeQuantile(
    errorEffect(rate).map((r) => r[judge]),
    0.5,
  );
const speedup = (rate: number): number => median(rate, "fixedHorizon") / median(rate, "ours");
const oursRate = failShare(aa.map((r) => r.ours));
const holds =
  speedup(0.03) >= 2 &&
  speedup(0.05) >= 2 &&
  median(0.02, "ours") <= median(0.02, "fixedHorizon") &&
  oursRate <= ALPHA;
lines.push(
  "",
  `Median speed-up over fixed-horizon: ×${speedup(0.03).toFixed(2)} at 3 % vs 1 %, ×${speedup(0.05).toFixed(2)} at 5 % vs 1 %; ` +
    `at 2 % vs 1 % ours ${median(0.02, "ours")} s vs ${median(0.02, "fixedHorizon")} s; ` +
    `our false-rollback rate ${(100 * oursRate).toFixed(2)} % (bound ${100 * ALPHA} %). ` +
    `Done-when (×2 at 3 % and 5 %, no slower at 2 %, rate within the bound): ${holds ? "holds" : "does NOT hold"}.`,
  "",
  "Measured with `node_modules/.bin/node bench/detection.ts`.",
);
process.stdout.write(`${lines.join("\n")}\n`);
log(`finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
