import { z } from "zod";

/**
 * How the mixtures of the sequential tests are tuned. Any setting keeps the false-rollback bound;
 * they only decide which regressions are caught fastest. As Johari, Pekelis and Walsh advise for
 * their mixture ("Always Valid Inference", Operations Research 2022), tune it to the smallest effect
 * worth catching quickly: by default a doubled error rate; larger ones are caught within seconds.
 */
export const MixtureConfig = z.strictObject({
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
   * in log-odds (see priors.ts). Smaller suits rare errors on heavy traffic, larger frequent errors.
   */
  shareScale: z.number().gt(0).max(1).default(0.012),
});
export type MixtureConfig = z.infer<typeof MixtureConfig>;

/** How a canary is judged. Validate at the edge with `AnalysisConfig.parse`, which fills in defaults. */
export const AnalysisConfig = z.strictObject({
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
  /** What the caller does with an `inconclusive` verdict: fail the rollout or extend the window. */
  onInconclusive: z.enum(["fail", "extend"]).default("fail"),
  mixture: MixtureConfig.prefault({}),
});
export type AnalysisConfig = z.infer<typeof AnalysisConfig>;
export type AnalysisConfigInput = z.input<typeof AnalysisConfig>;

export const DEFAULT_ANALYSIS_CONFIG: AnalysisConfig = AnalysisConfig.parse({});
