import { z } from "zod";
import { Cloud } from "./cloud.ts";

/** A whole cloud, or one region of it: where a canary step places the canary. */
export const TargetSelector = z.strictObject({ cloud: Cloud, region: z.string().min(1).max(64).optional() });
export type TargetSelector = z.infer<typeof TargetSelector>;

/**
 * How the mixtures of the sequential tests are tuned. Any setting keeps the false-rollback bound;
 * they only decide which regressions are caught fastest (Johari, Pekelis and Walsh tune their
 * mixture to the effect expected: "Always Valid Inference", Operations Research 2022).
 */
export const MixtureSettings = z.strictObject({
  /** The ratio of canary to stable error rate the error test is quickest at; any ratio above 1 is caught. */
  errorRateRatio: z.number().gt(1).max(1000).default(2),
  /** How widely the error mixture spreads around that ratio: the standard deviation of log(log ratio). */
  errorSpread: z.number().gt(0).max(3).default(0.25),
  /**
   * The ratio of canary to stable share of requests slower than a bucket bound that the latency test
   * is quickest at. 1.15 is about what a 10 % slower median does to the share slower than the median.
   */
  slowShareRatio: z.number().gt(1).max(1000).default(1.15),
  /** As `errorSpread`, for latency: wider, as the same slowdown moves that share by more or less. */
  latencySpread: z.number().gt(0).max(3).default(0.7),
  /**
   * How tightly the error test pins the canary's traffic share to what the error-free requests say,
   * in log-odds. Smaller suits rare errors on heavy traffic, larger frequent errors.
   */
  shareScale: z.number().gt(0).max(1).default(0.012),
});
export type MixtureSettings = z.infer<typeof MixtureSettings>;

/** How a canary is judged; every field has a default, so `{}` is a sensible judge. */
export const AnalysisSettings = z.strictObject({
  /** The false-rollback bound: the chance of failing a canary that is no worse than stable. */
  alpha: z.number().gt(0).max(0.5).default(0.01),
  /** The part of `alpha` given to the error test; the latency test gets the rest (Bonferroni). */
  errorAlphaShare: z.number().gt(0).lt(1).default(0.5),
  /** Requests each revision must have served in the window before the canary can pass. */
  minRequests: z.int().min(1).max(1_000_000_000).default(100),
  /** Fail when the canary's error rate is above this, whatever stable does. */
  maxErrorRate: z.number().min(0).max(1).optional(),
  /** Fail when the canary's p99 latency is certainly above this many ms, whatever stable does. */
  maxP99LatencyMs: z.number().positive().optional(),
  /** What an inconclusive window does: roll back, or keep judging until the progress deadline. */
  onInconclusive: z.enum(["fail", "extend"]).default("fail"),
  mixture: MixtureSettings.prefault({}),
});
export type AnalysisSettings = z.infer<typeof AnalysisSettings>;

export const CanaryStepSpec = z.union([
  z.strictObject({
    setWeight: z.number().min(0).max(100),
    /** Where the canary runs at this weight; every target when absent. */
    targets: z.array(TargetSelector).min(1).optional(),
  }),
  z.strictObject({
    /** Without a duration, waits until promoted. */
    pause: z.strictObject({ durationSeconds: z.int().min(1).max(86_400).optional() }),
  }),
  z.strictObject({ analysis: z.strictObject({ durationSeconds: z.int().min(1).max(3_600) }) }),
]);
export type CanaryStepSpec = z.infer<typeof CanaryStepSpec>;

const deadline = {
  /** A revision not ready this long after its step began fails the rollout. */
  progressDeadlineSeconds: z.int().min(1).max(86_400).default(600),
};

export const RollingStrategy = z.strictObject({ type: z.literal("rolling"), ...deadline });
export const CanaryStrategy = z.strictObject({
  type: z.literal("canary"),
  steps: z.array(CanaryStepSpec).min(1).max(50),
  analysis: AnalysisSettings.default(AnalysisSettings.parse({})),
  ...deadline,
});
export const BlueGreenStrategy = z.strictObject({
  type: z.literal("blueGreen"),
  /** How long the old revision keeps running after the switch, so a rollback is instant. */
  scaleDownDelaySeconds: z.int().min(0).max(86_400).default(30),
  ...deadline,
});

export const RolloutStrategy = z.discriminatedUnion("type", [
  RollingStrategy,
  CanaryStrategy,
  BlueGreenStrategy,
]);
export type RolloutStrategy = z.infer<typeof RolloutStrategy>;
export type CanaryStrategy = z.infer<typeof CanaryStrategy>;
export type BlueGreenStrategy = z.infer<typeof BlueGreenStrategy>;
