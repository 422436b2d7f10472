import type { RevisionOutcomes } from "#core";
import type { AnalysisConfig } from "./config.ts";
import { type ErrorTestResult, errorTest } from "./errors.ts";
import { checkGuards, type GuardCheck } from "./guards.ts";
import { quantileMs } from "./histogram.ts";
import { type LatencyTestResult, latencyTest } from "./latency.ts";
import { outcomesProblem } from "./validate.ts";
import { type Evidence, errorVerdict, type RevisionSummary, type Verdict } from "./verdict.ts";

export interface JudgeInput {
  /** Cumulative outcomes of each revision since the analysis step started, over the same window. */
  readonly stable: RevisionOutcomes;
  readonly canary: RevisionOutcomes;
  readonly config: AnalysisConfig;
  /** Whether the step's window has ended: only then can a canary pass or be inconclusive. */
  readonly final: boolean;
}

const summarise = (o: RevisionOutcomes): RevisionSummary => {
  const histogram = { boundsMs: o.bucketBoundsMs, counts: o.latencyBuckets };
  return {
    requests: o.requests,
    serverErrors: o.serverErrors,
    errorRate: o.requests > 0 ? o.serverErrors / o.requests : null,
    p50LatencyMs: quantileMs(histogram, 0.5),
    p99LatencyMs: quantileMs(histogram, 0.99),
  };
};

const percent = (x: number | null): string => (x === null ? "n/a" : `${(100 * x).toFixed(2)} %`);
const number = (x: number): string => (x < 1e6 ? String(Number(x.toPrecision(3))) : x.toExponential(2));
const ms = (x: number | null): string => (x === null ? "n/a" : `${number(x)} ms`);

const errorReason = (e: ErrorTestResult): string =>
  `canary error rate ${percent(e.canaryErrorRate)} vs stable ${percent(e.stableErrorRate)}` +
  `${e.rateRatio === null ? "" : ` (×${number(e.rateRatio)})`}; e-value ${number(e.eValue)} ≥ ${number(e.threshold)}`;

const latencyReason = (l: LatencyTestResult): string =>
  `canary: ${percent(l.canarySlowerShare)} of requests slower than ${ms(l.boundMs)} vs stable ` +
  `${percent(l.stableSlowerShare)}; e-value ${number(l.eValue)} ≥ ${number(l.threshold)}`;

const guardReason = (g: GuardCheck): string =>
  g.guard === "maxErrorRate"
    ? `canary error rate ${percent(g.observed)} above the limit ${percent(g.limit)}`
    : `canary p99 latency ≈ ${ms(g.observed)}, more than 1 % of requests above the limit ${ms(g.limit)}`;

/**
 * Judges a canary against stable on the cumulative outcomes of the current analysis step. Call it
 * every tick: the error and latency tests are anytime-valid (share-test.ts), so looking often does
 * not raise the false-rollback rate above `config.alpha`, and a window may be extended at will.
 *
 * - `fail` as soon as a test finds a regression (canary worse; a better canary never fails them) or
 *   a guard is breached;
 * - otherwise `running` until `final`, then `pass` when both revisions served `minRequests`, else
 *   `inconclusive` (never `pass` on a window without requests); the caller applies `onInconclusive`;
 * - `error` when the outcomes are malformed. For a source that threw, use `errorVerdict`.
 */
export const judgeCanary = ({ stable, canary, config, final }: JudgeInput): Verdict => {
  for (const [name, o] of [
    ["canary", canary],
    ["stable", stable],
  ] as const) {
    const problem = outcomesProblem(o);
    if (problem !== null) return errorVerdict(`${name} outcomes are malformed: ${problem}`);
  }
  const errorAlpha = config.alpha * config.errorAlphaShare;
  const evidence: Evidence = {
    alpha: config.alpha,
    final,
    minRequests: config.minRequests,
    canary: summarise(canary),
    stable: summarise(stable),
    errors: errorTest(canary, stable, errorAlpha, config.mixture),
    latency: latencyTest(canary, stable, config.alpha - errorAlpha, config.mixture),
    guards: checkGuards(canary, config),
  };

  if (evidence.errors.regression) {
    return { status: "fail", decidedBy: "errors", reason: errorReason(evidence.errors), evidence };
  }
  if (evidence.latency.regression) {
    return { status: "fail", decidedBy: "latency", reason: latencyReason(evidence.latency), evidence };
  }
  const breached = evidence.guards.find((g) => g.breached);
  if (breached !== undefined) {
    return { status: "fail", decidedBy: breached.guard, reason: guardReason(breached), evidence };
  }

  const counts = `canary ${canary.requests} requests, stable ${stable.requests}`;
  if (!final) {
    return { status: "running", decidedBy: null, reason: `no regression so far (${counts})`, evidence };
  }
  const { onInconclusive } = config;
  if (canary.requests === 0) {
    const reason = "the canary served no requests in the window";
    return { status: "inconclusive", decidedBy: "noRequests", onInconclusive, reason, evidence };
  }
  if (canary.requests < config.minRequests || stable.requests < config.minRequests) {
    const reason = `too few requests to judge (${counts}; ${config.minRequests} needed of each)`;
    return { status: "inconclusive", decidedBy: "minRequests", onInconclusive, reason, evidence };
  }
  return { status: "pass", decidedBy: null, reason: `no regression in the window (${counts})`, evidence };
};
