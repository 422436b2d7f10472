import { errorVerdict, judgeCanary, type Verdict } from "#analysis";
import type { AnalysisSettings, RolloutStep } from "#core";
import { type RolloutRecord, recordAnalysis } from "#store";
import type { EngineDeps } from "./deps.ts";
import { POLL_MS, type StepOutcome } from "./steps.ts";

type AnalysisStep = Extract<RolloutStep, { kind: "analysis" }>;

/** How often an analysis looks at the outcomes again. */
export const ANALYSIS_TICK_MS = 1_000;

const look = async (
  deps: EngineDeps,
  rollout: RolloutRecord,
  step: AnalysisStep,
  settings: AnalysisSettings,
  window: { since: number; until: number; final: boolean },
): Promise<Verdict> => {
  try {
    const query = { workload: rollout.workload, since: window.since, until: window.until };
    const [stable, canary] = await Promise.all([
      deps.outcomes.outcomes({ ...query, revision: step.stable }),
      deps.outcomes.outcomes({ ...query, revision: step.canary }),
    ]);
    return judgeCanary({ stable, canary, config: settings, final: window.final });
  } catch (error) {
    return errorVerdict(error instanceof Error ? error.message : String(error));
  }
};

/**
 * Runs one look of an analysis step: reads what users saw of both revisions since the step began,
 * asks the judge, stores the verdict with its evidence, and turns it into a step outcome. A metric
 * source that fails is an `error` verdict, never a `fail`; a window that ends without enough data
 * rolls back or goes on being judged according to `onInconclusive`, bounded by the progress deadline.
 * The window opens when the reconciler marks the step started, after its first call: that call, and
 * any made while this clock lags the database's, only waits, judging and recording nothing.
 */
export const analyse = async (
  deps: EngineDeps,
  rollout: RolloutRecord,
  step: AnalysisStep,
  settings: AnalysisSettings,
): Promise<StepOutcome> => {
  const until = Date.now();
  const since = rollout.stepStartedAt ? Date.parse(rollout.stepStartedAt) : until;
  if (until <= since) {
    return {
      kind: "wait",
      delayMs: Math.max(POLL_MS, Math.min(ANALYSIS_TICK_MS, step.durationSeconds * 1000)),
      reason: "the analysis window opens",
    };
  }
  const ends = since + step.durationSeconds * 1000;
  const verdict = await look(deps, rollout, step, settings, { since, until, final: until >= ends });
  await recordAnalysis(deps.sql, rollout.id, {
    step: rollout.currentStep,
    verdict: verdict.status,
    metric: verdict.decidedBy,
    evidence: { reason: verdict.reason, ...verdict.evidence },
  });
  const data = { reason: verdict.reason, decidedBy: verdict.decidedBy, ...verdict.evidence };
  switch (verdict.status) {
    case "running":
      return {
        kind: "wait",
        delayMs: Math.max(POLL_MS, Math.min(ANALYSIS_TICK_MS, ends - until)),
        reason: verdict.reason,
      };
    case "error":
      return { kind: "wait", delayMs: ANALYSIS_TICK_MS, reason: verdict.reason };
    case "pass":
      return { kind: "done", event: { type: "analysis_passed", message: verdict.reason, data } };
    case "fail":
      return {
        kind: "rollback",
        message: `analysis failed on ${verdict.decidedBy}: ${verdict.reason}`,
        data,
      };
    case "inconclusive":
      if (settings.onInconclusive === "fail") {
        return { kind: "rollback", message: `analysis inconclusive: ${verdict.reason}`, data };
      }
      return {
        kind: "wait",
        delayMs: ANALYSIS_TICK_MS,
        reason: `analysis inconclusive, judging on: ${verdict.reason}`,
      };
  }
};
