import type { RevisionOutcomes } from "#core";
import type { MixtureConfig } from "./config.ts";
import { finiteExp } from "./mixture.ts";
import { errorPriors } from "./priors.ts";
import { shareTest } from "./share-test.ts";

export interface ErrorTestResult {
  readonly canaryErrorRate: number | null;
  readonly stableErrorRate: number | null;
  /** Canary over stable error rate; null when either has no requests or stable had no errors. */
  readonly rateRatio: number | null;
  /** The e-process: the evidence that the canary fails more often (a certified lower bound once it fails). */
  readonly eValue: number;
  /** The e-value that fails the canary: 1 / (the error test's part of alpha). */
  readonly threshold: number;
  readonly regression: boolean;
}

const rate = (o: RevisionOutcomes): number | null => (o.requests > 0 ? o.serverErrors / o.requests : null);

/**
 * Does the canary fail more often than stable? The share test (share-test.ts) with failed requests
 * as the bad group and the others as the good one, on cumulative counts since the window started.
 */
export const errorTest = (
  canary: RevisionOutcomes,
  stable: RevisionOutcomes,
  alpha: number,
  mixture: MixtureConfig,
): ErrorTestResult => {
  const canaryErrorRate = rate(canary);
  const stableErrorRate = rate(stable);
  const rateRatio =
    canaryErrorRate !== null && stableErrorRate !== null && stableErrorRate > 0
      ? canaryErrorRate / stableErrorRate
      : null;
  const result = shareTest(
    [
      {
        bad: canary.serverErrors + stable.serverErrors,
        badCanary: canary.serverErrors,
        good: canary.requests - canary.serverErrors + stable.requests - stable.serverErrors,
        goodCanary: canary.requests - canary.serverErrors,
        logWeight: 0,
      },
    ],
    errorPriors(mixture),
    Math.log(1 / alpha),
  );
  return {
    canaryErrorRate,
    stableErrorRate,
    rateRatio,
    eValue: finiteExp(result.logE),
    threshold: 1 / alpha,
    regression: result.exceeded,
  };
};
